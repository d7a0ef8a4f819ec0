import { errorMessage } from "@colony/actors";
import type { Placement } from "../registry/registry.ts";
import type { PlacerOptions } from "./placer.ts";
import { activateAgent, placeAgent } from "./placer.ts";
import { Spread } from "./spread.ts";

/** Activations requested at once during a failover. */
const FAILOVER_CONCURRENCY = 32;

/**
 * Moves the agents of hosts that are gone: remembers which hosts' placements
 * must move (and from when), re-places them in batches, and retries failover
 * activations that failed until they succeed or the placement changes.
 */
export class Failover {
  /**
   * Hosts whose placements must move, with a cutoff: placements made before
   * it (directory clock) belong to the incarnation that is gone. Infinity for
   * a dead or departed host; the new incarnation's join time for a restart.
   */
  private readonly orphaned = new Map<string, { cutoff: number; incarnation: string }>();
  /** Failover activations that failed: retried every sweep while the placement stands. */
  private readonly unactivated = new Map<string, Placement>();

  constructor(private readonly o: PlacerOptions) {}

  /** The placements of `host` made before `cutoff` must move (the earliest cutoff wins). */
  orphan(host: string, incarnation: string, cutoff = Number.POSITIVE_INFINITY): void {
    const prior = this.orphaned.get(host);
    this.orphaned.set(host, { incarnation, cutoff: Math.min(cutoff, prior?.cutoff ?? cutoff) });
  }

  /** A dead host back as a new process (joined at `since`): what it places from now on is its own. */
  rejoined(host: string, since: number): void {
    const orphan = this.orphaned.get(host);
    if (orphan) orphan.cutoff = Math.min(orphan.cutoff, since);
  }

  /** One sweep's share: move every orphaned host's agents, then retry the failed activations. */
  async run(): Promise<void> {
    await this.failoverOrphans();
    await this.retryActivations();
  }

  /** Activates a failed-over agent where it now lives, so its queued messages run without a new one; on failure, retried every sweep. */
  async activateOrRetry(p: Placement): Promise<void> {
    try {
      await activateAgent(this.o, p, "failover");
      this.unactivated.delete(p.agent);
    } catch (e) {
      this.unactivated.set(p.agent, p);
      this.o.logger.warn({ agent: p.agent, host: p.host, err: errorMessage(e) }, "failover activation failed; retrying next sweep");
    }
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
            await this.activateOrRetry(await placeAgent(this.o, p.agent, p, undefined, "failover", spread));
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
}
