import type { ActivationDeps, ActivationReason, AgentId, Clock, Logger, TimerHandle } from "@colony/actors";
import { Activation, AgentNotHereError, errorMessage } from "@colony/actors";

/** How often idle activations are looked for; an agent passivates within idleMs + this. */
export const DEFAULT_SWEEP_MS = 1_000;

export interface CatalogOptions extends Omit<ActivationDeps, "onStopped"> {
  /** Idle time before passivation for agents whose config sets no idleMs. */
  defaultIdleMs: number;
  sweepMs?: number;
  /**
   * Releases the placement at `epoch` of an activation that ended here (idle,
   * drained, or dropped after a stall with work left); `pending` messages
   * still wait in its inbox. Settles once the release is done or given up.
   */
  release?: (id: AgentId, epoch: number, pending: number) => Promise<void>;
}

/**
 * The activation table of one host: at most one live activation per agent
 * here, at the epoch its placement granted, passivated when idle, all
 * stopped on drain.
 */
export class Catalog {
  private readonly active = new Map<AgentId, Activation>();
  private readonly starting = new Map<AgentId, Promise<Activation | null>>();
  /** Epochs this host has given up and whose release may still be on its way: never activated here again. */
  private readonly releasing = new Map<AgentId, number>();
  private readonly clock: Clock;
  private readonly log: Logger;
  /** What every activation here gets: one object, not a copy per agent. */
  private readonly deps: ActivationDeps;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly opts: CatalogOptions) {
    this.clock = opts.clock;
    this.log = opts.logger;
    this.deps = { ...opts, onStopped: (a, how) => this.stopped(a, how) };
  }

  /** The live activation here, if any; never starts one. */
  get(id: AgentId): Activation | undefined {
    const a = this.active.get(id);
    return a?.active ? a : undefined;
  }

  /**
   * The live activation at `epoch` if it is running here now: `ensure`'s
   * answer without a promise, for the message path (most messages find
   * their agent active). Undefined: ask `ensure`.
   */
  running(id: AgentId, epoch: number): Activation | undefined {
    const current = this.active.get(id);
    if (!current || current.epoch !== epoch || !current.active || this.closed) return undefined;
    return epoch <= (this.releasing.get(id) ?? -1) ? undefined : current;
  }

  /**
   * The live activation at `epoch`, started if needed; null if the agent does
   * not exist. An activation here at an older epoch is fenced and replaced;
   * asking for an older epoch than the one here means the caller's placement
   * is stale (AgentNotHereError: look it up again).
   */
  async ensure(id: AgentId, epoch: number, reason: ActivationReason = "restore"): Promise<Activation | null> {
    for (;;) {
      if (this.closed) throw new AgentNotHereError(id, this.opts.hostId);
      // Until the release lands the directory may still route here at that
      // epoch; starting again would run beside the agent's next placement.
      if (epoch <= (this.releasing.get(id) ?? -1)) throw new AgentNotHereError(id, this.opts.hostId);
      const current = this.active.get(id);
      if (current) {
        if (current.epoch > epoch) throw new AgentNotHereError(id, this.opts.hostId);
        if (current.epoch === epoch && current.active) return current;
        if (current.epoch < epoch) current.fence(new AgentNotHereError(id, this.opts.hostId));
        // A stopping activation finishes (and checkpoints) before the next one loads.
        else await current.stop();
        continue;
      }
      const inflight = this.starting.get(id);
      if (inflight) {
        await inflight.catch(() => undefined);
        continue;
      }
      const start = this.start(id, epoch, reason);
      this.starting.set(id, start);
      try {
        return await start;
      } finally {
        this.starting.delete(id);
      }
    }
  }

  private async start(id: AgentId, epoch: number, reason: ActivationReason): Promise<Activation | null> {
    const activation = await Activation.start(id, epoch, reason, this.deps);
    if (activation) this.active.set(id, activation);
    return activation;
  }

  private stopped(a: Activation, how: { fenced: boolean; pending: number }): void {
    if (this.active.get(a.id) === a) this.active.delete(a.id);
    if (!how.fenced) this.released(a.id, a.epoch, how.pending);
  }

  /** Ends the agent's activation here without writing (deleted, or owned elsewhere now). */
  evict(id: AgentId, reason: Error): void {
    this.active.get(id)?.fence(reason);
  }

  /**
   * Ends every activation here without writing: this host was frozen past
   * the failure timeout and may have been presumed dead. Those left with
   * work are released (the directory re-places them unless it already
   * moved them), so their acknowledged messages run without a new one
   * arriving. Returns how many were released.
   */
  evictAll(reason: Error): number {
    let n = 0;
    for (const a of [...this.active.values()]) {
      const pending = a.pendingCount();
      a.fence(reason);
      if (pending > 0 && this.active.get(a.id) !== a) {
        n++;
        this.released(a.id, a.epoch, pending);
      }
    }
    return n;
  }

  /** Gives up the placement at `epoch` and refuses to start at it again here (see ensure). */
  private released(id: AgentId, epoch: number, pending: number): void {
    if (epoch <= (this.releasing.get(id) ?? -1)) return;
    this.releasing.set(id, epoch);
    const done = () => {
      // Once it landed, the fence has moved past `epoch`: the store refuses a start there anyway.
      if (this.releasing.get(id) === epoch) this.releasing.delete(id);
    };
    const release = this.opts.release;
    if (!release) return done();
    release(id, epoch, pending).then(done, (e: unknown) => {
      this.log.warn({ agent: id, epoch, err: errorMessage(e) }, "releasing a placement failed");
      done();
    });
  }

  activeCount(): number {
    return this.active.size;
  }

  /** Messages accepted here and not yet done: the host's load. */
  load(): number {
    let n = 0;
    for (const a of this.active.values()) n += a.pendingCount();
    return n;
  }

  countByType(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const a of this.active.values()) {
      const type = a.view().type;
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
    return counts;
  }

  /** Starts the idle sweep: each activation idle longer than its idleMs is passivated. */
  startSweeping(): void {
    const sweepMs = this.opts.sweepMs ?? DEFAULT_SWEEP_MS;
    const tick = () => {
      if (this.closed) return;
      this.passivateIdle();
      this.sweepTimer = this.clock.setTimeout(tick, sweepMs);
    };
    this.sweepTimer = this.clock.setTimeout(tick, sweepMs);
  }

  /** Passivates every activation idle past its limit; returns how many. */
  passivateIdle(): number {
    const now = this.clock.now();
    let n = 0;
    for (const a of this.active.values()) {
      const since = a.idleSince();
      const idleMs = a.view().config.idleMs ?? this.opts.defaultIdleMs;
      if (since !== null && a.active && now - since >= idleMs) {
        n++;
        a.stop().catch((e) => this.log.error({ agent: a.id, err: errorMessage(e) }, "passivation failed"));
      }
    }
    return n;
  }

  /**
   * Stops every activation and refuses new ones. With `handoff`, only running
   * turns finish and queued messages stay in the durable inbox for the next
   * activation elsewhere; without it, every accepted message runs here. A
   * turn still running after `abortAfterMs` stops at its last checkpoint.
   */
  async drain(opts: { abortAfterMs: number; handoff: boolean }): Promise<void> {
    this.closed = true;
    this.sweepTimer?.cancel();
    await Promise.allSettled([...this.starting.values()]);
    await Promise.all([...this.active.values()].map((a) => a.stop(opts)));
  }
}
