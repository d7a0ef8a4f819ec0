import type { Clock, Envelope, Logger, Subscription, Transport } from "@colony/actors";
import { NotFoundError, UnavailableError, errorMessage, newMessageId, subjects } from "@colony/actors";
import type { Heartbeat, MembershipSnapshot } from "../membership/host-info.ts";
import { heartbeatSchema } from "../membership/host-info.ts";
import type { MembershipTable } from "../membership/membership-table.ts";
import type { PlacementStrategy } from "../placement/strategy.ts";
import type { Placement, PlacementRegistry } from "../registry/registry.ts";
import type { HostsReply } from "./protocol.ts";
import { DIR, HOST, hostRequestSchema, lookupRequestSchema, releaseRequestSchema } from "./protocol.ts";

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
  onPlaced?: (reason: "new" | "failover" | "handoff") => void;
}

/**
 * The directory: membership from host heartbeats, placement of agents on
 * live hosts by compare-and-set in the registry, and failover of a dead
 * host's agents. Replicas share the work through a NATS queue group; the
 * registry's CAS keeps their decisions from ever conflicting.
 */
export class DirectoryService {
  private readonly subs: Subscription[] = [];
  private readonly orphaned = new Set<string>();
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
    d.subs.push(t.subscribe(subjects.directory, (env) => d.onRequest(env), { queue: subjects.directoryQueue }));
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
    const seen = this.o.membership.observe(hb.data);
    if (seen.change === "restarted") {
      // The old process is gone with its activations: move its agents now.
      this.o.logger.warn({ host: seen.member.id }, "host restarted; re-placing the agents of its previous incarnation");
      void this.failover(seen.member.id);
    }
    this.publishMembership();
  }

  private async onRequest(env: Envelope): Promise<unknown> {
    switch (env.kind) {
      case DIR.lookup: {
        const req = lookupRequestSchema.parse(env.body);
        return { placement: await this.lookup(req.agent, req.place, req.requester) };
      }
      case DIR.release: {
        const req = releaseRequestSchema.parse(env.body);
        return this.release(req.agent, req.host, req.epoch, req.reactivate);
      }
      case DIR.drain: {
        const { host } = hostRequestSchema.parse(env.body);
        const member = this.o.membership.get(host);
        if (member?.status === "alive") this.o.membership.observe({ ...toHeartbeat(member), draining: true });
        this.publishMembership();
        return { ok: true };
      }
      case DIR.leave: {
        const { host } = hostRequestSchema.parse(env.body);
        this.o.membership.leave(host);
        this.publishMembership();
        return { ok: true };
      }
      case DIR.hosts:
        return this.hosts();
      default:
        throw new NotFoundError(`unknown directory request "${env.kind}"`);
    }
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
    return this.place(agent, current, requester, current ? "failover" : "new");
  }

  private async place(agent: string, current: Placement | null, requester: string | undefined, reason: "new" | "failover" | "handoff"): Promise<Placement> {
    const host = this.o.strategy({ snapshot: this.o.membership.snapshot(), agent, ...(requester ? { requester } : {}), random: this.o.random ?? Math.random });
    if (!host) throw new UnavailableError("no live host can take the agent", { retryAfterMs: this.o.heartbeatMs });
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
    const env: Envelope = {
      id: newMessageId(),
      kind: HOST.activate,
      from: this.o.id,
      target: p.agent,
      deadline: this.o.clock.now() + ACTIVATE_TIMEOUT_MS,
      body: { epoch: p.epoch, reason },
    };
    await this.o.transport.request(subjects.host(p.host), env, ACTIVATE_TIMEOUT_MS);
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
    const due = this.o.clock.now() + this.o.heartbeatMs;
    this.sweepTimer = this.o.clock.setTimeout(() => {
      // A sweep running a heartbeat late means this process was frozen (GC,
      // CPU starvation, a blocked event loop): the heartbeats it did not
      // hear meanwhile prove nothing about the hosts.
      const lateMs = this.o.clock.now() - due;
      if (lateMs > this.o.heartbeatMs) {
        this.o.logger.warn({ lateMs }, "the directory itself was frozen; restarting every host's silence from now");
        this.o.membership.forgive();
      }
      void this.sweep().finally(() => this.scheduleSweep());
    }, this.o.heartbeatMs);
  }

  /** Declares silent hosts dead and moves their agents to live hosts; retried until every agent moved. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const dead of this.o.membership.expire()) {
        this.o.logger.warn({ host: dead.id }, "host declared dead; failing its agents over");
        this.orphaned.add(dead.id);
      }
      this.publishMembership();
      for (const host of [...this.orphaned]) {
        if (this.o.membership.isAlive(host)) {
          // It came back (a long pause): its activations are fenced; nothing to move.
          this.orphaned.delete(host);
          continue;
        }
        if (await this.failover(host)) this.orphaned.delete(host);
      }
    } catch (e) {
      this.o.logger.error({ err: errorMessage(e) }, "directory sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  /** Re-places every agent still registered on `host`; true when none is left. */
  private async failover(host: string): Promise<boolean> {
    const agents = await this.o.registry.agentsOn(host);
    const placements = await this.o.registry.getMany(agents);
    const stranded = placements.filter((p): p is Placement => p !== null && p.host === host);
    let ok = true;
    for (let i = 0; i < stranded.length; i += FAILOVER_CONCURRENCY) {
      const batch = stranded.slice(i, i + FAILOVER_CONCURRENCY);
      await Promise.all(
        batch.map(async (p) => {
          try {
            const moved = await this.place(p.agent, p, undefined, "failover");
            if (moved.host !== host) await this.activate(moved, "failover");
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

  private publishMembership(): void {
    const snap = this.o.membership.snapshot();
    if (snap.version === this.lastVersion) return;
    this.lastVersion = snap.version;
    this.o.onMembership?.(snap);
  }
}

function toHeartbeat(h: Heartbeat): Heartbeat {
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
