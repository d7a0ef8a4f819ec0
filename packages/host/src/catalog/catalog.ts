import type { ActivationDeps, AgentId, Clock, Logger, TimerHandle } from "@colony/actors";
import { Activation, errorMessage } from "@colony/actors";

/** How often idle activations are looked for; an agent passivates within idleMs + this. */
export const DEFAULT_SWEEP_MS = 1_000;

export interface CatalogOptions extends Omit<ActivationDeps, "onStopped"> {
  /** Grants the epoch a new activation writes with (claims the agent's fence). */
  claim(id: AgentId): Promise<number>;
  /** Idle time before passivation for agents whose config sets no idleMs. */
  defaultIdleMs: number;
  sweepMs?: number;
}

/**
 * The activation table of one host: at most one live activation per agent
 * here, started on demand, passivated when idle, all stopped on drain.
 */
export class Catalog {
  private readonly active = new Map<AgentId, Activation>();
  private readonly starting = new Map<AgentId, Promise<Activation | null>>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly opts: CatalogOptions) {
    this.clock = opts.clock;
    this.log = opts.logger;
  }

  /** The live activation here, if any; never starts one. */
  get(id: AgentId): Activation | undefined {
    const a = this.active.get(id);
    return a?.active ? a : undefined;
  }

  /** The live activation, started if needed; null if the agent does not exist. */
  async ensure(id: AgentId): Promise<Activation | null> {
    for (;;) {
      const current = this.active.get(id);
      if (current?.active) return current;
      // A stopping activation finishes (and checkpoints) before the next one loads.
      if (current) await current.stop();
      const inflight = this.starting.get(id);
      if (inflight) {
        const a = await inflight;
        if (a === null || a.active) return a;
        continue;
      }
      const start = this.start(id);
      this.starting.set(id, start);
      try {
        return await start;
      } finally {
        this.starting.delete(id);
      }
    }
  }

  private async start(id: AgentId): Promise<Activation | null> {
    if (this.closed) throw new Error("catalog is closed");
    const epoch = await this.opts.claim(id);
    const activation = await Activation.start(id, epoch, "restore", {
      ...this.opts,
      onStopped: (a) => {
        if (this.active.get(id) === a) this.active.delete(id);
      },
    });
    if (activation) this.active.set(id, activation);
    return activation;
  }

  /** Ends the agent's activation here without writing (deleted elsewhere, fenced). */
  evict(id: AgentId, reason: Error): void {
    this.active.get(id)?.fence(reason);
  }

  activeCount(): number {
    return this.active.size;
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
   * Stops every activation: accepted messages run to completion unless
   * `abortAfterMs` passes first, in which case running turns stop at their
   * last checkpoint and stay in the durable inbox.
   */
  async drain(abortAfterMs: number): Promise<void> {
    this.closed = true;
    this.sweepTimer?.cancel();
    await Promise.allSettled([...this.starting.values()]);
    await Promise.all([...this.active.values()].map((a) => a.stop({ abortAfterMs })));
  }
}
