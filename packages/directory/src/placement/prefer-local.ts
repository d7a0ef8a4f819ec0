import { eligible } from "./eligible.ts";
import { leastLoaded } from "./least-loaded.ts";
import type { PlacementStrategy } from "./strategy.ts";

/**
 * The requesting host itself, if it is a live, non-draining member: no hop
 * for a supervisor's workers. Otherwise (an unknown, dead or draining
 * requester, or none) the least-loaded host.
 */
export const preferLocal: PlacementStrategy = (input) => {
  const { requester } = input;
  if (requester !== undefined) {
    const hosts = eligible(input.snapshot).hosts;
    for (let i = 0; i < hosts.length; i++) if (hosts[i]!.id === requester) return requester;
  }
  return leastLoaded(input);
};
