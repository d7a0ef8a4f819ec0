import type { HostInfo, MembershipSnapshot } from "../membership/host-info.ts";
import { hashString } from "./rendezvous.ts";

/** The hosts that may take a new activation (live and not draining), in snapshot order. */
export class Eligible {
  /** A plain array: on Node 20, indexed reads from a frozen array are several times slower than from a plain one. */
  readonly hosts: readonly HostInfo[];
  /** Whether the source array and every host in it are frozen (so this may be memoized). */
  readonly frozen: boolean;
  private idList: string[] | undefined;
  private hashList: Uint32Array | undefined;

  constructor(all: readonly HostInfo[]) {
    const hosts: HostInfo[] = [];
    let frozen = Object.isFrozen(all);
    for (let i = 0; i < all.length; i++) {
      const h = all[i]!;
      if (!h.draining) hosts.push(h);
      if (frozen && !Object.isFrozen(h)) frozen = false;
    }
    this.hosts = hosts;
    this.frozen = frozen;
  }

  get ids(): readonly string[] {
    return (this.idList ??= this.hosts.map((h) => h.id));
  }

  /** `hashString` of each id, computed on first use. */
  hashes(): Uint32Array {
    if (!this.hashList) {
      const out = new Uint32Array(this.hosts.length);
      for (let i = 0; i < out.length; i++) out[i] = hashString(this.hosts[i]!.id);
      this.hashList = out;
    }
    return this.hashList;
  }
}

// Snapshots are immutable, so what is derived from one can be kept with it:
// keyed by the host array's identity, and only for deeply frozen arrays (the
// ones MembershipTable hands out), which nobody can change behind our back.
const cache = new WeakMap<readonly HostInfo[], Eligible>();

/** The non-draining hosts of a snapshot; memoized per frozen snapshot. */
export function eligible(snapshot: MembershipSnapshot): Eligible {
  const all = snapshot.hosts;
  const hit = cache.get(all);
  if (hit) return hit;
  const e = new Eligible(all);
  if (e.frozen) cache.set(all, e);
  return e;
}
