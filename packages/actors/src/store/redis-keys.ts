/**
 * Redis key layout. Every key of one agent shares the hash tag `{type/key}`
 * (`colony:{type/key}:…`), so one Lua script can touch all of them and they
 * live on one shard of a Redis Cluster. Ids are validated
 * before they get here: they hold no `{`, `}`, or glob characters.
 */
export const agentKeys = (agent: string) => {
  const base = `colony:{${agent}}:`;
  return {
    snap: `${base}snap`,
    /** The conversation: a list of msgpack entries, one per message (the snapshot is the head). */
    log: `${base}log`,
    epoch: `${base}epoch`,
    inbox: `${base}inbox`,
    seq: `${base}seq`,
    dedup: `${base}dedup`,
    results: `${base}results`,
    recent: `${base}recent`,
    /** The directory's placement of the agent: hash {host, epoch, since}; among the agent's keys so that deleting the agent drops it in the same script. */
    placement: `${base}placement`,
    /** The agent's execution trace: a capped stream of events. */
    trace: `${base}trace`,
    /** Token of the last delete, kept a while so that its resend still reports it. */
    deleted: `${base}deleted`,
    /** Dead letters: hash id → entry bytes. */
    dead: `${base}dead`,
    /** Dead-letter ids scored by the order they were added (paging, dropping the oldest). */
    deadIndex: `${base}deadidx`,
    /** Hash {seq: last order given, dropped: entries dropped because the list was full}. */
    deadMeta: `${base}deadmeta`,
  };
};

/*
 * Global keys (one each; no hash tag). On a Redis Cluster each lives on one
 * shard and is touched only by single-key commands, which any cluster
 * serves; no script or MULTI ever combines one with an agent's keys. They
 * are indexes, checked against the agents' own keys by their readers:
 * AGENT_INDEX_KEY, the record hashes `colony:approvals`, `colony:types`,
 * `colony:tools`, `colony:mcp`, and the directory's per-host index of
 * placed agents (`colony:host:<id>:agents`, hostAgentsKey in
 * @colony/directory's registry/redis-keys.ts).
 */

/** Sorted set (all scores 0) of every agent id, for lexicographic paging. Global (see above). */
export const AGENT_INDEX_KEY = "colony:agents";
