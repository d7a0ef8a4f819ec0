import { randomUUID } from "node:crypto";
import type { AgentEventRecord, RedisClient } from "@colony/actors";
import { agentEventRecordSchema, agentKeys, parseJsonOrUndefined } from "@colony/actors";

/** Trace entries kept per agent; the oldest are dropped past this. */
export const DEFAULT_TRACE_CAP = 2_000;

export interface TraceEntry extends AgentEventRecord {
  /** Position in the agent's trace, increasing; the cursor for paging. */
  id: string;
}

export interface TraceQuery {
  turn?: number;
  /** Only entries at or after this time (epoch ms). */
  since?: number;
  /** Entries after this id (the previous page's last). */
  after?: string;
  limit: number;
}

/** The agents' execution traces: append-only, capped per agent, readable from any host. */
export interface TraceStore {
  /** Appends records (of any agents), in order per agent; one round trip for the batch. */
  append(records: readonly AgentEventRecord[]): Promise<void>;
  read(agent: string, q: TraceQuery): Promise<{ entries: TraceEntry[]; nextCursor: string | null }>;
}

const matches = (e: Pick<AgentEventRecord, "turn" | "at">, q: TraceQuery) => (q.turn === undefined || e.turn === q.turn) && (q.since === undefined || e.at >= q.since);

/** An entry as the memory store keeps it: what a query filters on, and the record as JSON (as in Redis). */
interface StoredEntry {
  /** The entry's id as a number: formatted (zero-padded, so ids sort as strings) only when read. */
  seq: number;
  turn: number;
  at: number;
  json: string;
}

const entryId = (seq: number): string => String(seq).padStart(16, "0");

/**
 * The traces in process memory (`colony dev`, tests). Records are kept as
 * JSON, as the Redis stream keeps them: no caller can change one after the
 * fact, and a copy costs a stringify rather than a structured clone. The
 * oldest entries past the cap are dropped in batches (a quarter of the cap
 * at a time) rather than one by one from the front of the array.
 */
export class MemoryTraceStore implements TraceStore {
  private readonly traces = new Map<string, StoredEntry[]>();
  private seq = 0;

  constructor(private readonly cap = DEFAULT_TRACE_CAP) {}

  async append(records: readonly AgentEventRecord[]): Promise<void> {
    for (const record of records) {
      let list = this.traces.get(record.agent);
      if (!list) this.traces.set(record.agent, (list = []));
      list.push({ seq: ++this.seq, turn: record.turn, at: record.at, json: JSON.stringify(record) });
      if (list.length > this.cap + (this.cap >> 2)) list.splice(0, list.length - this.cap);
    }
  }

  async read(agent: string, q: TraceQuery) {
    const list = this.traces.get(agent) ?? [];
    const all = list.slice(Math.max(0, list.length - this.cap)).filter((e) => (q.after === undefined || entryId(e.seq) > q.after) && matches(e, q));
    const entries: TraceEntry[] = all.slice(0, q.limit).map((e) => ({ ...(JSON.parse(e.json) as AgentEventRecord), id: entryId(e.seq) }));
    return { entries, nextCursor: all.length > q.limit ? entries[entries.length - 1]!.id : null };
  }
}

/**
 * KEYS: trace. ARGV: cap token json1..jsonN. One agent's entries of one
 * flush, in order, each its own stream entry (`e` the record, `u` the
 * token, `<token>:<i>`): one command from the host for the lot, in one
 * slot (the key is under the agent's tag). The last entry trims the stream
 * to about `cap`: `~` drops whole nodes only (100 entries), so trimming
 * once per batch keeps about as many as trimming on each entry did.
 */
const TRACE_APPEND = `
local n = #ARGV
for i = 3, n - 1 do
  redis.call('XADD', KEYS[1], '*', 'e', ARGV[i], 'u', ARGV[2] .. ':' .. (i - 3))
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[n], 'u', ARGV[2] .. ':' .. (n - 3))
`;

type TraceClient = RedisClient & { colonyTraceAppend(key: string, cap: number, token: string, ...entries: string[]): Promise<unknown> };

/**
 * A Redis stream per agent (`colony:{type/key}:trace`), trimmed to the cap,
 * entries as JSON. Each entry carries a token (`u`): a batch resent after a
 * lost reply (ioredis does) lands twice in the stream, and readers skip the copy.
 */
export class RedisTraceStore implements TraceStore {
  private readonly redis: TraceClient;

  constructor(
    redis: RedisClient,
    private readonly cap = DEFAULT_TRACE_CAP,
  ) {
    redis.defineCommand("colonyTraceAppend", { numberOfKeys: 1, lua: TRACE_APPEND });
    this.redis = redis as TraceClient;
  }

  async append(records: readonly AgentEventRecord[]): Promise<void> {
    if (records.length === 0) return;
    // One script per agent (its entries in order), all sent at once: a
    // turn's handful of events costs one command rather than one XADD
    // each. One connection per node answers in order, so each agent's
    // batches keep theirs.
    const byAgent = new Map<string, string[]>();
    for (const record of records) {
      const list = byAgent.get(record.agent);
      const json = JSON.stringify(record);
      if (list) list.push(json);
      else byAgent.set(record.agent, [json]);
    }
    const batch = randomUUID();
    await Promise.all([...byAgent].map(([agent, entries]) => this.redis.colonyTraceAppend(agentKeys(agent).trace, this.cap, batch, ...entries)));
  }

  async read(agent: string, q: TraceQuery) {
    const entries: TraceEntry[] = [];
    const seen = new Set<string>();
    let start = q.after === undefined ? "-" : `(${q.after}`;
    // Filters apply after reading, so read in batches until the page is full.
    for (;;) {
      const batch = await this.redis.xrange(agentKeys(agent).trace, start, "+", "COUNT", Math.max(q.limit * 2, 100));
      for (const [id, fields] of batch) {
        const token = fields[3];
        if (token !== undefined) {
          if (seen.has(token)) continue;
          seen.add(token);
        }
        const parsed = agentEventRecordSchema.safeParse(parseJsonOrUndefined(fields[1]));
        if (!parsed.success || !matches(parsed.data, q)) continue;
        if (entries.length === q.limit) return { entries, nextCursor: entries[entries.length - 1]!.id };
        entries.push({ ...parsed.data, id });
      }
      if (batch.length === 0) return { entries, nextCursor: null };
      start = `(${batch[batch.length - 1]![0]}`;
    }
  }
}


