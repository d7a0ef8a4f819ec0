import type { MembershipSnapshot } from "../membership/host-info.ts";

/**
 * Chooses the host for a new activation of `agent`: a pure function of the
 * membership snapshot. Never picks a draining host; null when no host can
 * take it. `requester` is the host that asked (for prefer-local); `random`
 * returns a float in [0, 1) (injected so tests are deterministic).
 */
export type PlacementStrategy = (input: {
  snapshot: MembershipSnapshot;
  agent: string;
  requester?: string;
  random: () => number;
}) => string | null;

export type { StrategyName } from "../settings.ts";
