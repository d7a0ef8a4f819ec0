import type { HostInfo } from "../membership/host-info.ts";
import { eligible } from "./eligible.ts";
import { hashString, rendezvousWeight } from "./rendezvous.ts";
import type { PlacementStrategy } from "./strategy.ts";

/** Orders hosts by current work, then by live activations. */
const lighter = (a: HostInfo, b: HostInfo): number => a.load - b.load || a.agents - b.agents;

/**
 * The default: the host with the least `load`, then the fewest `agents`.
 * Equally loaded hosts are told apart by the rendezvous weight of (agent,
 * host), so a burst of placements onto an idle cluster spreads out instead
 * of piling onto the first host by id, and the same inputs give the same host.
 */
export const leastLoaded: PlacementStrategy = ({ snapshot, agent }) => {
  const e = eligible(snapshot);
  const hosts = e.hosts;
  if (hosts.length === 0) return null;
  let min = hosts[0]!;
  let ties = 1;
  for (let i = 1; i < hosts.length; i++) {
    const order = lighter(hosts[i]!, min);
    if (order < 0) {
      min = hosts[i]!;
      ties = 1;
    } else if (order === 0) ties++;
  }
  if (ties === 1) return min.id;
  const a = hashString(agent);
  const hashes = e.hashes();
  let best: HostInfo | undefined;
  let bestWeight = -1;
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i]!;
    if (lighter(h, min) !== 0) continue;
    const w = rendezvousWeight(a, hashes[i]!);
    if (w > bestWeight || (w === bestWeight && h.id < best!.id)) {
      best = h;
      bestWeight = w;
    }
  }
  return best!.id;
};
