import type { Clock, Envelope, Logger, RpcRoute, Subscription, Transport } from "@colony/actors";
import { NoRespondersError, NotFoundError, UnavailableError, call, errorMessage, handle, newMessageId, serveRpcs, subjects } from "@colony/actors";
import type { Heartbeat, HostInfo, MembershipSnapshot } from "../membership/host-info.ts";
import { heartbeatSchema } from "../membership/host-info.ts";
import type { Member, MembershipTable } from "../membership/membership-table.ts";
import type { PlacementStrategy } from "../placement/strategy.ts";
import type { Placement, PlacementRegistry } from "../registry/registry.ts";
import type { HostsReply } from "./protocol.ts";
import { MEMBERSHIP_EVENT, MEMBERSHIP_SUBJECT, directoryRpcs, directoryToHostRpcs } from "./protocol.ts";

/** How long the directory waits for a host to confirm an activation it asked for. */
export const ACTIVATE_TIMEOUT_MS = 5_000;
/** Activations requested at once during a failover. */
const FAILOVER_CONCURRENCY = 32;

export interface DirectoryServiceOptions {
  /** This replica's id (for logs and envelopes). */
  id: string;
  transport: Transport;
  registry: PlacementRegistry;
  membership: MembershipTable;
  strategy: PlacementStrategy;
  clock: Clock;
  logger: Logger;
  heartbeatMs: number;
  failureTimeoutMs: number;
  random?: () => number;
  /** Called with every new membership snapshot (the colony_hosts gauge). */
  onMembership?: (snapshot: MembershipSnapshot) => void;
  /** Counts placements made, by why (new, failover, handoff). */
  onPlaced?: (reason: PlacementReason) => void;
  /** Milliseconds since this directory's own store (Redis) last answered (StoreWatch); unset: never discount a heartbeat for its store. */
  storeSilentMs?: () => number;
}

/** Why an agent was placed: its first placement, its host died, its host handed it off. */
export type PlacementReason = "new" | "failover" | "handoff";

/**
 * The directory: membership from host heartbeats, placement of agents on
 * live hosts by compare-and-set in the registry, and failover of a dead
 * host's agents. Replicas share the work through a NATS queue group; the
 * registry's CAS keeps their decisions from ever conflicting.
 */
export class DirectoryService {
  private readonly subs: Subscription[] = [];
  /**
   * Hosts whose placements must move, with a cutoff: placements made before
   * it (directory clock) belong to the incarnation that is gone. Infinity for
   * a dead or departed host; the new incarnation's join time for a restart.
   */
  private readonly orphaned = new Map<string, { cutoff: number; incarnation: string }>();
  /** Failover activations that failed: retried every sweep while the placement stands. */
  private readonly unactivated = new Map<string, Placement>();
  /** Hosts whose heartbeats say they cannot reach the store while this directory can (cutFromStore). */
  private readonly storeCut = new Set<string>();
  /** Hosts with a liveness probe in flight. */
  private readonly probing = new Set<string>();
  private sweepAgain = false;
  private readonly startedAt: number;
  private sweepTimer: { cancel(): void } | undefined;
  private sweeping = false;
  private stopped = false;
  private lastVersion = -1;

  private constructor(private readonly o: DirectoryServiceOptions) {
    this.startedAt = o.clock.now();
  }

  static start(opts: DirectoryServiceOptions): DirectoryService {
    const d = new DirectoryService(opts);
    const t = opts.transport;
    d.subs.push(t.subscribe(subjects.heartbeats, (env) => d.onHeartbeat(env)));
    d.subs.push(serveRpcs(t, subjects.directory, "directory", d.routes(), { queue: subjects.directoryQueue }));
    // Blind while disconnected: nobody is declared dead for silence we could not hear.
    t.onStatus((s) => (s === "connected" ? opts.membership.resume() : opts.membership.pause()));
    d.scheduleSweep();
    d.publishMembership();
    return d;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sweepTimer?.cancel();
    for (const s of this.subs) s.unsubscribe();
  }

  /** A host in this very process: never declared dead for silence (see MembershipTable.markLocal). */
  markLocal(hostId: string): void {
    this.o.membership.markLocal(hostId);
  }

  snapshot(): MembershipSnapshot {
    return this.o.membership.snapshot();
  }

  private onHeartbeat(env: Envelope): void {
    const hb = heartbeatSchema.safeParse(env.body);
    if (!hb.success) {
      this.o.logger.warn({ from: env.from }, "ignoring a malformed heartbeat");
      return;
    }
    if (hb.data.leaving) this.leave(hb.data.id, hb.data.incarnation);
    else if (!this.cutFromStore(hb.data)) this.observe(hb.data);
  }

  /**
   * True for a host that has not heard from the store for the failure
   * timeout while this directory has: cut off from Redis but not from NATS.
   * Its heartbeats prove that its process runs, not that it can serve its
   * agents (every append and commit needs Redis), and without this they
   * would keep its agents there, unanswerable, for as long as the partition
   * lasts. So they stop counting: the host is suspected, then declared dead,
   * and its agents move to hosts that reach the store (the epoch fence keeps
   * the cut host from writing once it is back). Never when this directory
   * cannot reach the store either: that is an outage of Redis itself, which
   * moving agents would not help.
   */
  private cutFromStore(hb: Heartbeat): boolean {
    const own = this.o.storeSilentMs?.();
    const cut = hb.storeSilentMs !== undefined && own !== undefined && hb.storeSilentMs >= this.o.failureTimeoutMs && own < this.o.failureTimeoutMs / 2;
    if (cut !== this.storeCut.has(hb.id)) {
      if (cut) this.storeCut.add(hb.id);
      else this.storeCut.delete(hb.id);
      if (cut) this.o.logger.warn({ host: hb.id, storeSilentMs: hb.storeSilentMs }, "host cannot reach Redis while the directory can: its heartbeats no longer count; its agents fail over");
      else this.o.logger.info({ host: hb.id }, "host reaches Redis again: its heartbeats count again");
    }
    return cut;
  }

  /**
   * A graceful leave (its last heartbeat, heard by every replica, or a leave
   * request): gone at once, and whatever it did not hand off (a release that
   * failed) moves now, nothing may wait for a poke. Without `incarnation`,
   * whichever incarnation is current.
   */
  private leave(host: string, incarnation?: string): void {
    const member = this.o.membership.get(host);
    if (member && this.o.membership.leave(host, incarnation)) {
      this.o.logger.info({ host, incarnation: member.incarnation }, "host left the cluster (graceful leave)");
      this.orphan(host, member.incarnation);
    }
    this.publishMembership();
  }

  private observe(hb: Heartbeat): void {
    const seen = this.o.membership.observe(hb);
    if (seen.change === "restarted") {
      // The old process is gone with its activations: move its agents now,
      // possibly onto the new incarnation itself (which must then activate them).
      this.o.logger.warn({ host: seen.member.id }, "host restarted; re-placing the agents of its previous incarnation");
      this.orphan(seen.previous.id, seen.previous.incarnation, seen.member.statusSince);
    } else if (seen.change === "joined") {
      // A dead host back as a new process: what it places from now on is its own.
      const orphan = this.orphaned.get(seen.member.id);
      if (orphan) orphan.cutoff = Math.min(orphan.cutoff, seen.member.statusSince);
    }
    this.publishMembership();
  }

  /** Its placements (made before `cutoff`) must move: tell every host now, move them in a sweep. */
  private orphan(host: string, incarnation: string, cutoff = Number.POSITIVE_INFINITY): void {
    const prior = this.orphaned.get(host);
    this.orphaned.set(host, { incarnation, cutoff: Math.min(cutoff, prior?.cutoff ?? cutoff) });
    const env: Envelope = { id: newMessageId(), kind: MEMBERSHIP_EVENT, from: this.o.id, deadline: this.o.clock.now() + this.o.failureTimeoutMs, body: { version: this.o.membership.version, down: [host] } };
    try {
      this.o.transport.publish(MEMBERSHIP_SUBJECT, env);
    } catch (e) {
      this.o.logger.warn({ host, err: errorMessage(e) }, "could not announce a host gone; hosts learn it on their next failed request");
    }
    void this.sweep();
  }

  /** The directory's requests, each with its handler (bodies parsed by their RPC's schema). */
  private routes(): RpcRoute[] {
    return [
      handle(directoryRpcs.lookup, async (req) => ({ placement: await this.lookup(req.agent, req.place, req.requester) })),
      handle(directoryRpcs.release, (req) => this.release(req.agent, req.host, req.epoch, req.reactivate)),
      handle(directoryRpcs.drain, ({ host }) => {
        const member = this.o.membership.get(host);
        if (member?.status === "alive") this.o.membership.observe({ ...toHeartbeat(member), draining: true });
        this.publishMembership();
        return { ok: true as const };
      }),
      handle(directoryRpcs.leave, ({ host }) => {
        this.leave(host);
        return { ok: true as const };
      }),
      handle(directoryRpcs.hosts, () => this.hosts()),
    ];
  }

  /** A host counts as alive if the membership says so, or, just after this replica started, if it is not known yet. */
  private alive(host: string): boolean {
    if (this.o.membership.isAlive(host)) return true;
    const known = this.o.membership.get(host) !== undefined;
    return !known && this.o.clock.now() - this.startedAt < this.o.failureTimeoutMs;
  }

  /** The agent's live placement; with `place`, a new one if it has none or its host is dead. */
  async lookup(agent: string, place: boolean, requester?: string): Promise<Placement | null> {
    const current = await this.o.registry.get(agent);
    if (current && this.alive(current.host)) return current;
    if (!place) return current;
    const placed = await this.place(agent, current, requester, current ? "failover" : "new");
    // Moved off a dead host by a request before the sweep got to it: a failover
    // all the same. Not awaited: the requester goes there anyway, and this
    // request leaves before the reply, so the new host starts it as a failover.
    if (current && placed.epoch !== current.epoch) void this.activateOrRetry(placed);
    return placed;
  }

  private async place(agent: string, current: Placement | null, requester: string | undefined, reason: "new" | "failover" | "handoff", spread?: Spread): Promise<Placement> {
    const snapshot = spread ? spread.next() : this.o.membership.snapshot();
    const host = this.o.strategy({ snapshot, agent, ...(requester ? { requester } : {}), random: this.o.random ?? Math.random });
    if (!host) throw new UnavailableError("no live host can take the agent", { retryAfterMs: this.o.heartbeatMs });
    // Counted before the await: the next decision of a concurrent batch already sees it.
    this.o.membership.notePlaced(host);
    spread?.chose(host);
    const out = await this.o.registry.register(agent, host, {
      ...(current ? { replace: { host: current.host, epoch: current.epoch } } : {}),
      now: this.o.clock.now(),
    });
    if (out.kind === "missing") throw new NotFoundError(`agent ${agent} does not exist`);
    if (out.kind === "placed") {
      this.o.onPlaced?.(reason);
      this.o.logger.debug({ agent, host, epoch: out.placement.epoch, reason }, "placed");
    }
    return out.placement;
  }

  private async release(agent: string, host: string, epoch: number, reactivate: boolean) {
    const released = await this.o.registry.unregister(agent, epoch);
    if (!reactivate) return { released, placement: null };
    const placement = await this.lookup(agent, true);
    if (placement && placement.host !== host) await this.activate(placement, "restore");
    return { released, placement };
  }

  private async activate(p: Placement, reason: "restore" | "failover"): Promise<void> {
    await call(this.o.transport, subjects.host(p.host), directoryToHostRpcs.activate, { epoch: p.epoch, reason }, { from: this.o.id, target: p.agent, timeoutMs: ACTIVATE_TIMEOUT_MS, now: this.o.clock.now() });
  }

  hosts(): HostsReply {
    const snap = this.o.membership.snapshot();
    return {
      version: snap.version,
      hosts: this.o.membership
        .all()
        .map((h) => ({ ...toHeartbeat(h), lastHeartbeat: h.lastHeartbeat, status: h.status === "alive" && h.draining ? ("draining" as const) : h.status })),
    };
  }

  private scheduleSweep(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    // Every heartbeat, or sooner when a host is due to be suspected or declared dead.
    const next = this.o.membership.nextExpiryAt();
    const delay = Math.max(1, Math.min(this.o.heartbeatMs, next === null ? this.o.heartbeatMs : next - now));
    const due = now + delay;
    this.sweepTimer = this.o.clock.setTimeout(() => {
      // A sweep running this late means this process was frozen (GC, CPU
      // starvation, a blocked event loop): the heartbeats it did not hear
      // meanwhile prove nothing about the hosts.
      const lateMs = this.o.clock.now() - due;
      if (lateMs >= this.o.membership.options.suspectAfterMs) {
        this.o.logger.warn({ lateMs }, "the directory itself was frozen; restarting every host's silence from now");
        this.o.membership.forgive();
        // A roll call: a host that crashed meanwhile is still found at once ("no responders").
        for (const m of this.o.membership.all()) if (this.o.membership.isAlive(m.id) && !this.o.membership.isLocal(m.id)) this.probe(m);
      }
      void this.sweep().finally(() => this.scheduleSweep());
    }, delay);
  }

  /**
   * Probes suspected hosts, declares dead those a probe found gone or that
   * stayed silent past the failure timeout, and moves their agents; retried
   * until every agent moved and every failover activation succeeded.
   */
  async sweep(): Promise<void> {
    if (this.stopped) return;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    try {
      do {
        this.sweepAgain = false;
        for (const dead of this.o.membership.expire()) {
          this.o.logger.warn({ host: dead.id, silentMs: this.o.clock.now() - dead.lastHeartbeat }, "host silent past the failure timeout: declared dead; failing its agents over");
          this.orphan(dead.id, dead.incarnation);
        }
        for (const suspect of this.o.membership.suspect()) this.probe(suspect);
        this.publishMembership();
        await this.failoverOrphans();
        await this.retryActivations();
      } while (this.sweepAgain && !this.stopped);
    } catch (e) {
      this.o.logger.error({ err: errorMessage(e) }, "directory sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Asks a silent host whether its process is still there. "No responders"
   * means its NATS connection is gone: a crash, dead now. An answer (its
   * heartbeat) clears the suspicion; a timeout leaves it suspected.
   */
  private probe(m: Member): void {
    if (this.probing.has(m.id) || this.stopped) return;
    this.probing.add(m.id);
    const timeout = 2 * this.o.heartbeatMs;
    call(this.o.transport, subjects.host(m.id), directoryToHostRpcs.ping, {}, { from: this.o.id, timeoutMs: timeout, now: this.o.clock.now() })
      .then(
        (hb) => {
          if (hb.id === m.id && !this.cutFromStore(hb)) this.observe(hb);
        },
        (e) => {
          if (!(e instanceof NoRespondersError)) return;
          const dead = this.o.membership.confirmDead(m.id, m.incarnation);
          if (!dead) return;
          this.o.logger.warn({ host: m.id, silentMs: this.o.clock.now() - m.lastHeartbeat }, "host's process is gone (probe: no responders): declared dead; failing its agents over");
          this.publishMembership();
          this.orphan(m.id, m.incarnation);
        },
      )
      .finally(() => this.probing.delete(m.id));
  }

  private async failoverOrphans(): Promise<void> {
    for (const [host, { cutoff, incarnation }] of [...this.orphaned]) {
      const now = this.o.membership.get(host);
      if (now && now.incarnation === incarnation && this.o.membership.isAlive(host)) {
        // The same incarnation came back (a long pause): its activations are fenced; nothing to move.
        this.orphaned.delete(host);
        continue;
      }
      if (await this.failover(host, cutoff)) this.orphaned.delete(host);
    }
  }

  /** Re-places every agent registered on `host` before `cutoff` and activates it; true when none is left. */
  private async failover(host: string, cutoff: number): Promise<boolean> {
    const agents = await this.o.registry.agentsOn(host);
    const placements = await this.o.registry.getMany(agents);
    const stranded = placements.filter((p): p is Placement => p !== null && p.host === host && p.since < cutoff);
    let ok = true;
    const spread = new Spread(this.o.membership);
    for (let i = 0; i < stranded.length; i += FAILOVER_CONCURRENCY) {
      const batch = stranded.slice(i, i + FAILOVER_CONCURRENCY);
      await Promise.all(
        batch.map(async (p) => {
          try {
            // Even onto the same host id (a restart): the new incarnation must activate it.
            await this.activateOrRetry(await this.place(p.agent, p, undefined, "failover", spread));
          } catch (e) {
            ok = false;
            this.o.logger.warn({ agent: p.agent, err: errorMessage(e) }, "failover of an agent failed; retrying next sweep");
          }
        }),
      );
    }
    if (ok && stranded.length > 0) this.o.logger.info({ host, agents: stranded.length }, "failover complete");
    return ok;
  }

  /** Activates a failed-over agent where it now lives, so its queued messages run without a new one; on failure, retried every sweep. */
  private async activateOrRetry(p: Placement): Promise<void> {
    try {
      await this.activate(p, "failover");
      this.unactivated.delete(p.agent);
    } catch (e) {
      this.unactivated.set(p.agent, p);
      this.o.logger.warn({ agent: p.agent, host: p.host, err: errorMessage(e) }, "failover activation failed; retrying next sweep");
    }
  }

  private async retryActivations(): Promise<void> {
    if (this.unactivated.size === 0) return;
    const pending = [...this.unactivated.values()];
    const current = await this.o.registry.getMany(pending.map((p) => p.agent));
    await Promise.all(
      pending.map(async (p, i) => {
        const now = current[i];
        // Moved again or gone: whoever moved it activated it (or will retry it).
        if (!now || now.epoch !== p.epoch || now.host !== p.host) return void this.unactivated.delete(p.agent);
        // Its host is dead: the host's failover moves it.
        if (!this.o.membership.isAlive(p.host)) return void this.unactivated.delete(p.agent);
        await this.activateOrRetry(now);
      }),
    );
  }

  private publishMembership(): void {
    const snap = this.o.membership.snapshot();
    if (snap.version === this.lastVersion) return;
    this.lastVersion = snap.version;
    this.o.onMembership?.(snap);
  }
}

/**
 * The membership a failover places against: the hosts' figures when it
 * began plus what this failover gave each since. Heartbeats arriving
 * meanwhile would count a placement twice (once activated) or not at all
 * (sent before): one fixed base keeps a batch's spread even. Hosts that died
 * meanwhile drop out.
 */
class Spread {
  private readonly base = new Map<string, HostInfo>();
  private readonly given = new Map<string, number>();

  constructor(private readonly membership: MembershipTable) {
    for (const h of membership.snapshot().hosts) this.base.set(h.id, h);
  }

  /** The snapshot for the next decision: today's eligible hosts, with the figures they had when the failover began. */
  next(): MembershipSnapshot {
    const now = this.membership.snapshot();
    const hosts = now.hosts.map((h) => {
      const from = this.base.get(h.id) ?? h;
      const n = this.given.get(h.id) ?? 0;
      return { ...h, agents: from.agents + n, load: from.load + n };
    });
    return { version: now.version, hosts };
  }

  /** Counts a placement on `host` for the next decisions. */
  chose(host: string): void {
    this.given.set(host, (this.given.get(host) ?? 0) + 1);
  }
}

function toHeartbeat(h: Heartbeat): Omit<Heartbeat, "leaving"> {
  return {
    id: h.id,
    address: h.address,
    agents: h.agents,
    load: h.load,
    draining: h.draining,
    incarnation: h.incarnation,
    startedAt: h.startedAt,
  };
}
