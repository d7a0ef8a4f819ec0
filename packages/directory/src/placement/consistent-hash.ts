import { eligible } from "./eligible.ts";
import { rendezvousPick } from "./rendezvous.ts";
import type { PlacementStrategy } from "./strategy.ts";

/**
 * Rendezvous hashing of the agent id over the non-draining hosts: the same
 * agent lands on the same host for as long as that host is eligible; a host
 * joining takes about 1/N of the agents, a host leaving gives up only its
 * own. Load is ignored.
 */
export const consistentHash: PlacementStrategy = ({ snapshot, agent }) => {
  const e = eligible(snapshot);
  const i = rendezvousPick(agent, e.ids, e.hashes());
  return i < 0 ? null : e.ids[i]!;
};
