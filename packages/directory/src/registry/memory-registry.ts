import type { MemoryStoreDriver } from "@colony/actors";
import type { Placement, PlacementRegistry, RegisterOutcome } from "./registry.ts";

const copy = (p: Placement): Placement => ({ ...p });

/**
 * The placement registry in memory, for `colony dev` and tests, over the
 * memory store whose fences it shares: `register` checks `store.has()` and
 * advances the store's fence with `store.advanceFence()` in the same
 * synchronous step that writes the placement, so the compare-and-set is
 * atomic and the epoch it hands out is the one the store's commits and
 * appends check.
 *
 * A placement is live only while its epoch is the agent's fence. Anything
 * else that advances the fence voids it: deleting the agent through the
 * store (which advances the fence: a deleted agent reads as unplaced even if
 * it was re-created since), or a `claim()` outside the registry (the testing helper). A void
 * placement reads as null and is replaced by the next register, exactly as
 * in the Redis registry. The fence can only be read asynchronously
 * (`store.epoch()`), so that check runs only when a placement exists and
 * does not match `replace`; since fences never go back, a placement once
 * seen void stays void, and register re-checks that the placement is still
 * the same object before replacing it.
 */
export class MemoryPlacementRegistry implements PlacementRegistry {
  private readonly placements = new Map<string, Placement>();
  private readonly byHost = new Map<string, Set<string>>();

  constructor(private readonly store: MemoryStoreDriver) {}

  async get(agent: string): Promise<Placement | null> {
    const p = this.placements.get(agent);
    if (!p) return null;
    if (!this.store.has(agent)) {
      this.drop(agent, p);
      return null;
    }
    return (await this.isLive(p)) ? copy(p) : null;
  }

  async getMany(agents: readonly string[]): Promise<(Placement | null)[]> {
    return Promise.all(agents.map((a) => this.get(a)));
  }

  async register(agent: string, host: string, opts: { replace?: { host: string; epoch: number }; now: number }): Promise<RegisterOutcome> {
    for (;;) {
      // From here to each return or await: one synchronous step, the compare-and-set.
      const current = this.placements.get(agent);
      if (!this.store.has(agent)) {
        if (current) this.drop(agent, current);
        return { kind: "missing" };
      }
      const { replace } = opts;
      if (!current || (replace !== undefined && current.host === replace.host && current.epoch === replace.epoch)) {
        return { kind: "placed", placement: copy(this.place(agent, host, opts.now, current)) };
      }
      const fence = this.store.epoch(agent);
      const live = (await fence) === current.epoch;
      if (this.placements.get(agent) !== current) continue; // changed meanwhile: decide again
      // It was the placement when the fence was read: "existing" holds as of then.
      if (live) return { kind: "existing", placement: copy(current) };
      // A void placement stays void (fences only grow): replace it, atomically from here.
      if (!this.store.has(agent)) continue;
      return { kind: "placed", placement: copy(this.place(agent, host, opts.now, current)) };
    }
  }

  async unregister(agent: string, epoch: number): Promise<boolean> {
    const p = this.placements.get(agent);
    if (!p || p.epoch !== epoch) return false;
    this.drop(agent, p);
    // A released epoch is dead for good, as in the Redis registry (only if still the fence: never go back).
    if (this.store.has(agent) && (await this.store.epoch(agent)) === epoch && !this.placements.has(agent)) this.store.advanceFence(agent);
    return true;
  }

  async agentsOn(host: string): Promise<string[]> {
    const agents = [...(this.byHost.get(host) ?? [])].sort();
    const placements = await this.getMany(agents);
    return agents.filter((_, i) => placements[i]?.host === host);
  }

  async close(): Promise<void> {}

  private async isLive(p: Placement): Promise<boolean> {
    return (await this.store.epoch(p.agent)) === p.epoch;
  }

  private place(agent: string, host: string, now: number, previous: Placement | undefined): Placement {
    if (previous) this.drop(agent, previous);
    const placement: Placement = { agent, host, epoch: this.store.advanceFence(agent), since: now };
    this.placements.set(agent, placement);
    let set = this.byHost.get(host);
    if (!set) this.byHost.set(host, (set = new Set()));
    set.add(agent);
    return placement;
  }

  private drop(agent: string, p: Placement): void {
    if (this.placements.get(agent) === p) this.placements.delete(agent);
    const set = this.byHost.get(p.host);
    set?.delete(agent);
    if (set?.size === 0) this.byHost.delete(p.host);
  }
}
