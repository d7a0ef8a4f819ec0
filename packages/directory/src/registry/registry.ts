/** Where one activation of an agent lives, and the epoch that fences its writes. */
export interface Placement {
  agent: string;
  host: string;
  /** The agent's fence after this registration; the activation writes with it. */
  epoch: number;
  /** When it was registered (epoch ms). */
  since: number;
}

export type RegisterOutcome =
  /** This call won: the agent is now placed on the requested host, at a new epoch. */
  | { kind: "placed"; placement: Placement }
  /** Someone else's placement stands (it did not match `replace`): go there. */
  | { kind: "existing"; placement: Placement }
  /** The agent does not exist (no snapshot): nothing was registered. */
  | { kind: "missing" };

/**
 * The directory's table of placements, by compare-and-set. Implemented in
 * memory (sharing the memory store's fences) and on Redis (a Lua script over
 * the agent's hash-tagged keys); one contract suite runs against both.
 */
export interface PlacementRegistry {
  get(agent: string): Promise<Placement | null>;
  getMany(agents: readonly string[]): Promise<(Placement | null)[]>;
  /**
   * Places `agent` on `host` if it has no placement, or if its placement is
   * exactly `replace` (one the caller judged dead). Registering advances the
   * agent's epoch, fencing every older activation. Returns the winner.
   */
  register(agent: string, host: string, opts: { replace?: { host: string; epoch: number }; now: number }): Promise<RegisterOutcome>;
  /**
   * Releases the placement only if it still has this epoch (a late unregister
   * never removes a newer activation), advancing the fence past it: nothing
   * may start or write at a released epoch.
   */
  unregister(agent: string, epoch: number): Promise<boolean>;
  /** Agents registered on a host (an index: callers check each against get()). */
  agentsOn(host: string): Promise<string[]>;
  close(): Promise<void>;
}
