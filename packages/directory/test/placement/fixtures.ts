import type { HostInfo, MembershipSnapshot } from "../../src/membership/host-info.ts";

/** A seeded PRNG (mulberry32): deterministic randomness for the exhaustive tests. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export function host(id: string, over: Partial<HostInfo> = {}): HostInfo {
  return { id, address: `http://${id}:8080`, agents: 0, load: 0, draining: false, incarnation: `${id}-1`, startedAt: 0, lastHeartbeat: 0, ...over };
}

/** A snapshot as MembershipTable hands them out: deeply frozen, hosts sorted by id. */
export function frozenSnapshot(hosts: HostInfo[], version = 1): MembershipSnapshot {
  const sorted = [...hosts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return Object.freeze({ version, hosts: Object.freeze(sorted.map((h) => Object.freeze({ ...h }))) });
}

/** The same content, not frozen (so nothing can be memoized on it). */
export function plainSnapshot(s: MembershipSnapshot): MembershipSnapshot {
  return { version: s.version, hosts: s.hosts.map((h) => ({ ...h })) };
}

export const agentIds = (n: number, prefix = "assistant/agent-"): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

export const hostIds = (n: number, prefix = "host-"): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
