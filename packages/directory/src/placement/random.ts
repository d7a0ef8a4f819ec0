import { eligible } from "./eligible.ts";
import type { PlacementStrategy } from "./strategy.ts";

/** A uniformly random non-draining host, drawn from the injected `random`. */
export const randomPlacement: PlacementStrategy = ({ snapshot, random }) => {
  const hosts = eligible(snapshot).hosts;
  if (hosts.length === 0) return null;
  const r = random();
  // A misbehaving source (1, a negative, NaN) still yields a valid index.
  const i = Math.floor((Number.isFinite(r) ? r : 0) * hosts.length);
  return hosts[Math.min(hosts.length - 1, Math.max(0, i))]!.id;
};
