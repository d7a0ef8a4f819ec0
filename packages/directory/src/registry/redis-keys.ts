/**
 * The directory's own Redis key. An agent's placement hash lives among the
 * agent's keys (`agentKeys(agent).placement` in @colony/actors), so that the
 * store's delete script can drop it in the same atomic step; the per-host
 * index below is the directory's alone.
 */

/**
 * Set of the agents placed on a host: an index for failover, checked
 * against each agent's placement. Global, one key per host, no hash tag: on
 * a Redis Cluster it is touched only by single-key commands (SADD, SREM,
 * SMEMBERS), never combined with an agent's keys in a script or MULTI.
 */
export const hostAgentsKey = (hostId: string) => `colony:host:${hostId}:agents`;
