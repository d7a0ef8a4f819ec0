import type { Clock, Logger, Transport } from "@colony/actors";
import { NotFoundError, UnavailableError, call, subjects } from "@colony/actors";
import type { MembershipTable } from "../membership/membership-table.ts";
import type { PlacementStrategy } from "../placement/strategy.ts";
import type { Placement, PlacementRegistry } from "../registry/registry.ts";
import { directoryToHostRpcs } from "./protocol.ts";
import type { Spread } from "./spread.ts";

/** How long the directory waits for a host to confirm an activation it asked for. */
export const ACTIVATE_TIMEOUT_MS = 5_000;

/** Why an agent was placed: its first placement, its host died, its host handed it off. */
export type PlacementReason = "new" | "failover" | "handoff";

/** What placing and activating agents needs from the directory. */
export interface PlacerOptions {
  /** This replica's id (for logs and envelopes). */
  id: string;
  transport: Transport;
  registry: PlacementRegistry;
  membership: MembershipTable;
  strategy: PlacementStrategy;
  clock: Clock;
  logger: Logger;
  heartbeatMs: number;
  random?: () => number;
  /** Counts placements made, by why (new, failover, handoff). */
  onPlaced?: (reason: PlacementReason) => void;
}

/**
 * Places an agent on a live host chosen by the strategy, by compare-and-set
 * against `current` in the registry; with `spread`, against a failover's
 * fixed membership base (see Spread).
 */
export async function placeAgent(o: PlacerOptions, agent: string, current: Placement | null, requester: string | undefined, reason: PlacementReason, spread?: Spread): Promise<Placement> {
  const snapshot = spread ? spread.next() : o.membership.snapshot();
  const host = o.strategy({ snapshot, agent, ...(requester ? { requester } : {}), random: o.random ?? Math.random });
  if (!host) throw new UnavailableError("no live host can take the agent", { retryAfterMs: o.heartbeatMs });
  // Counted before the await: the next decision of a concurrent batch already sees it.
  o.membership.notePlaced(host);
  spread?.chose(host);
  const out = await o.registry.register(agent, host, {
    ...(current ? { replace: { host: current.host, epoch: current.epoch } } : {}),
    now: o.clock.now(),
  });
  if (out.kind === "missing") throw new NotFoundError(`agent ${agent} does not exist`);
  if (out.kind === "placed") {
    o.onPlaced?.(reason);
    o.logger.debug({ agent, host, epoch: out.placement.epoch, reason }, "placed");
  }
  return out.placement;
}

/** Asks the placement's host to activate the agent now (a restore or a failover). */
export async function activateAgent(o: PlacerOptions, p: Placement, reason: "restore" | "failover"): Promise<void> {
  await call(o.transport, subjects.host(p.host), directoryToHostRpcs.activate, { epoch: p.epoch, reason }, { from: o.id, target: p.agent, timeoutMs: ACTIVATE_TIMEOUT_MS, now: o.clock.now() });
}
