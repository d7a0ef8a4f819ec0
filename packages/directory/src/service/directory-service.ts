import type { Envelope, RpcRoute, Subscription } from "@colony/actors";
import { errorMessage, handle, newMessageId, serveRpcs, subjects } from "@colony/actors";
import type { Heartbeat, MembershipSnapshot } from "../membership/host-info.ts";
import { heartbeatSchema } from "../membership/host-info.ts";
import type { Member } from "../membership/membership-table.ts";
import type { Placement } from "../registry/registry.ts";
import { Failover } from "./failover.ts";
import type { PlacerOptions } from "./placer.ts";
import { activateAgent, placeAgent } from "./placer.ts";
import { Prober } from "./prober.ts";
import type { HostsReply, LookupManyResult } from "./protocol.ts";
import { MEMBERSHIP_EVENT, MEMBERSHIP_SUBJECT, directoryRpcs } from "./protocol.ts";
import { lookupErrorOf } from "./lookup-error.ts";
import { StoreCut } from "./store-cut.ts";

export { ACTIVATE_TIMEOUT_MS } from "./placer.ts";
export type { PlacementReason } from "./placer.ts";

/** The placer's needs, and what the membership side adds. */
export interface DirectoryServiceOptions extends PlacerOptions {
  /** Silence after which a connected host is declared dead, in ms. */
  failureTimeoutMs: number;
  /** Called with every new membership snapshot (the colony_hosts gauge). */
  onMembership?: (snapshot: MembershipSnapshot) => void;
  /** Milliseconds since this directory's own store (Redis) last answered (StoreWatch); unset: never discount a heartbeat for its store. */
  storeSilentMs?: () => number;
}

/**
 * The directory: membership from host heartbeats, placement of agents on
 * live hosts by compare-and-set in the registry, and failover of a dead
 * host's agents. Replicas share the work through a NATS queue group; the
 * registry's CAS keeps their decisions from ever conflicting.
 */
export class DirectoryService {
  private readonly subs: Subscription[] = [];
  private readonly failovers: Failover;
  private readonly storeCut: StoreCut;
  private readonly prober: Prober;
  private sweepAgain = false;
  private readonly startedAt: number;
  private sweepTimer: { cancel(): void } | undefined;
  private sweeping = false;
  private stopped = false;
  private lastVersion = -1;

  private constructor(private readonly o: DirectoryServiceOptions) {
    this.startedAt = o.clock.now();
    this.failovers = new Failover(o);
    this.storeCut = new StoreCut(o.failureTimeoutMs, o.logger, o.storeSilentMs);
    this.prober = new Prober({
      ...o,
      stopped: () => this.stopped,
      answered: (hb) => {
        if (!this.storeCut.isCut(hb)) this.observe(hb);
      },
      gone: (m) => this.gone(m),
    });
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
    else if (!this.storeCut.isCut(hb.data)) this.observe(hb.data);
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
      this.failovers.rejoined(seen.member.id, seen.member.statusSince);
    }
    this.publishMembership();
  }

  /** Its placements (made before `cutoff`) must move: tell every host now, move them in a sweep. */
  private orphan(host: string, incarnation: string, cutoff = Number.POSITIVE_INFINITY): void {
    this.failovers.orphan(host, incarnation, cutoff);
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
      handle(directoryRpcs.lookupMany, async (req) => ({ results: await this.lookupMany(req.lookups, req.requester) })),
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
    return this.resolve(agent, place, requester, await this.o.registry.get(agent));
  }

  /**
   * Lookups answered together: the placements read in one round of
   * commands, the agents to place placed concurrently, each by its own
   * compare-and-set (one agent's keys per script, as Redis Cluster needs;
   * the scripts go out together). Each lookup fails or succeeds alone.
   */
  async lookupMany(lookups: readonly { agent: string; place: boolean }[], requester?: string): Promise<LookupManyResult[]> {
    const currents = await this.o.registry.getMany(lookups.map((l) => l.agent));
    const settled = await Promise.allSettled(lookups.map((l, i) => this.resolve(l.agent, l.place, requester, currents[i] ?? null)));
    return settled.map((s) => (s.status === "fulfilled" ? { placement: s.value } : { error: lookupErrorOf(s.reason) }));
  }

  /** `lookup` given the agent's registered placement, just read. */
  private async resolve(agent: string, place: boolean, requester: string | undefined, current: Placement | null): Promise<Placement | null> {
    if (current && this.alive(current.host)) return current;
    if (!place) return current;
    const placed = await placeAgent(this.o, agent, current, requester, current ? "failover" : "new");
    // Moved off a dead host by a request before the sweep got to it: a failover
    // all the same. Not awaited: the requester goes there anyway, and this
    // request leaves before the reply, so the new host starts it as a failover.
    if (current && placed.epoch !== current.epoch) void this.failovers.activateOrRetry(placed);
    return placed;
  }

  private async release(agent: string, host: string, epoch: number, reactivate: boolean) {
    const released = await this.o.registry.unregister(agent, epoch);
    if (!reactivate) return { released, placement: null };
    const placement = await this.lookup(agent, true);
    if (placement && placement.host !== host) await activateAgent(this.o, placement, "restore");
    return { released, placement };
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
        for (const m of this.o.membership.all()) if (this.o.membership.isAlive(m.id) && !this.o.membership.isLocal(m.id)) this.prober.probe(m);
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
        for (const suspect of this.o.membership.suspect()) this.prober.probe(suspect);
        this.publishMembership();
        await this.failovers.run();
      } while (this.sweepAgain && !this.stopped);
    } catch (e) {
      this.o.logger.error({ err: errorMessage(e) }, "directory sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  /** A probe found the host's process gone ("no responders"): dead now, unless it already changed. */
  private gone(m: Member): void {
    const dead = this.o.membership.confirmDead(m.id, m.incarnation);
    if (!dead) return;
    this.o.logger.warn({ host: m.id, silentMs: this.o.clock.now() - m.lastHeartbeat }, "host's process is gone (probe: no responders): declared dead; failing its agents over");
    this.publishMembership();
    this.orphan(m.id, m.incarnation);
  }

  private publishMembership(): void {
    const snap = this.o.membership.snapshot();
    if (snap.version === this.lastVersion) return;
    this.lastVersion = snap.version;
    this.o.onMembership?.(snap);
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
