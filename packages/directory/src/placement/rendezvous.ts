/**
 * Rendezvous (highest-random-weight) hashing: every (agent, host) pair gets
 * a pseudo-random weight, and an agent goes to the host with the highest.
 * Adding a host moves only the agents it now wins (about 1/N of them);
 * removing one moves only the agents it held. Pure, allocation-free, 32-bit.
 */

/** murmur3's 32-bit finalizer: a bijection with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A well-mixed 32-bit hash of a string: FNV-1a over its UTF-16 code units, then fmix32. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/**
 * The weight of an (agent, host) pair from their hashes. Mixing the host's
 * hash before combining keeps similar host ids (host-1, host-2, ...) from
 * producing correlated weights.
 */
export function rendezvousWeight(agentHash: number, hostHash: number): number {
  return fmix32(agentHash ^ fmix32(Math.imul(hostHash, 0x9e3779b1) + 0x7f4a7c15));
}

/**
 * The index of the candidate with the highest weight for `agent` (ties, which
 * need a 32-bit collision, go to the smaller id); -1 for no candidates.
 * `hostHashes[i]` must be `hashString(ids[i])`.
 */
export function rendezvousPick(agent: string, ids: readonly string[], hostHashes: ArrayLike<number>): number {
  const a = hashString(agent);
  let best = -1;
  let bestWeight = -1;
  for (let i = 0; i < ids.length; i++) {
    const w = rendezvousWeight(a, hostHashes[i]!);
    if (w > bestWeight || (w === bestWeight && ids[i]! < ids[best]!)) {
      best = i;
      bestWeight = w;
    }
  }
  return best;
}
