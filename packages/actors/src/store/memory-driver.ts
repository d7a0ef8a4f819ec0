import { StaleEpochError } from "../errors.ts";
import type { AppendOutcome, AppendRequest, CommitRequest, DeadLetterRecords, InboxRecord, ListOptions, StoreDriver, StoredAgent } from "./driver.ts";
import { DEAD_LETTER_LIMIT, DEDUP_WINDOW, LogMismatchError } from "./driver.ts";

/** Stored bytes: a latin1 string, one byte a character (see MemoryStoreDriver). */
type Bytes = string;

interface Entry {
  snapshot: Bytes;
  log: Bytes[];
  inbox: { seq: number; payload: Bytes }[];
  seq: number;
  /** Message ids accepted and not yet evicted from the dedup window, with their seqs. */
  messageIds: Map<string, number>;
  idempotencyKeys: Map<string, string>;
  keyOfMessage: Map<string, string>;
  results: Map<string, Bytes>;
  recent: string[];
  /** Dead letters by id, in the order they were added (Map order), each with that order. */
  dead: Map<string, { order: number; payload: Bytes }>;
  deadSeq: number;
  deadDropped: number;
}

/** The bytes as stored: copied into an immutable string (the codec's output is already a Buffer: no view to make). */
const store = (b: Uint8Array): Bytes => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString("latin1");
/** A fresh copy of stored bytes, the caller's to change. */
const read = (s: Bytes): Uint8Array => Buffer.from(s, "latin1");

/**
 * The in-memory store driver, with the same semantics as the Redis one (the
 * contract suite holds both to it). Bytes are copied in and out so callers
 * can never alias stored state. They are kept as latin1 strings, as Redis
 * keeps values: immutable, so nothing a caller holds can change them, and
 * one heap object each, where a copied typed array is three (view, buffer,
 * backing store) that every garbage collection tracks; a hot host commits a
 * few of them per message and keeps them for the agent's life.
 */
export class MemoryStoreDriver implements StoreDriver {
  private readonly agents = new Map<string, Entry>();
  // Fences outlive deletion, as in Redis: a re-created agent never reuses an epoch.
  private readonly epochs = new Map<string, number>();

  async create(agent: string, snapshot: Uint8Array, log: Uint8Array[] = []): Promise<boolean> {
    if (this.agents.has(agent)) return false;
    this.agents.set(agent, {
      snapshot: store(snapshot),
      log: log.map(store),
      inbox: [],
      seq: 0,
      messageIds: new Map(),
      idempotencyKeys: new Map(),
      keyOfMessage: new Map(),
      results: new Map(),
      recent: [],
      dead: new Map(),
      deadSeq: 0,
      deadDropped: 0,
    });
    return true;
  }

  /**
   * Synchronous pieces for an in-memory placement registry, whose
   * compare-and-set must bump this store's fence atomically (as the Redis
   * registry's Lua script does with the agent's epoch key).
   */
  advanceFence(agent: string): number {
    const next = (this.epochs.get(agent) ?? 0) + 1;
    this.epochs.set(agent, next);
    return next;
  }

  has(agent: string): boolean {
    return this.agents.has(agent);
  }

  async epoch(agent: string): Promise<number> {
    return this.epochs.get(agent) ?? 0;
  }

  async load(agent: string): Promise<StoredAgent | null> {
    const e = this.agents.get(agent);
    if (!e) return null;
    return {
      snapshot: read(e.snapshot),
      log: e.log.map(read),
      epoch: this.epochs.get(agent) ?? 0,
      inbox: e.inbox.map((r): InboxRecord => ({ seq: r.seq, payload: read(r.payload) })),
    };
  }

  async readSnapshot(agent: string): Promise<Uint8Array | null> {
    const e = this.agents.get(agent);
    return e ? read(e.snapshot) : null;
  }

  async readAgent(agent: string): Promise<{ snapshot: Uint8Array; log: Uint8Array[] } | null> {
    const e = this.agents.get(agent);
    return e ? { snapshot: read(e.snapshot), log: e.log.map(read) } : null;
  }

  async append(agent: string, entry: AppendRequest): Promise<AppendOutcome> {
    const e = this.agents.get(agent);
    if (!e) return { kind: "missing" };
    const current = this.epochs.get(agent) ?? 0;
    if (current !== entry.epoch) return { kind: "stale", current };
    const seen = e.messageIds.get(entry.messageId);
    if (seen !== undefined) return { kind: "duplicate", messageId: entry.messageId, seq: seen };
    // An empty key is no key, as in the Redis driver.
    const idempotencyKey = entry.idempotencyKey || undefined;
    if (idempotencyKey !== undefined) {
      const prior = e.idempotencyKeys.get(idempotencyKey);
      if (prior !== undefined) {
        const seq = e.messageIds.get(prior);
        return seq === undefined ? { kind: "duplicate", messageId: prior } : { kind: "duplicate", messageId: prior, seq };
      }
    }
    const seq = ++e.seq;
    e.inbox.push({ seq, payload: store(entry.payload) });
    e.messageIds.set(entry.messageId, seq);
    if (idempotencyKey !== undefined) {
      e.idempotencyKeys.set(idempotencyKey, entry.messageId);
      e.keyOfMessage.set(entry.messageId, idempotencyKey);
    }
    return { kind: "accepted", seq };
  }

  async readInbox(agent: string, seq: number): Promise<Uint8Array | null> {
    const r = this.agents.get(agent)?.inbox.find((x) => x.seq === seq);
    return r ? read(r.payload) : null;
  }

  async commit(agent: string, req: CommitRequest): Promise<void> {
    const current = this.epochs.get(agent) ?? 0;
    const e = this.agents.get(agent);
    if (current !== req.epoch || !e) throw new StaleEpochError(agent, req.epoch, current);
    const log = req.log;
    let add = log?.entries ?? [];
    if (log && !log.replace) {
      // This very commit, resent after its reply was lost, finds its entries there already.
      if (e.log.length !== log.base) {
        const there = add.length > 0 && e.log.length === log.base + add.length && add.every((x, i) => store(x) === e.log[log.base + i]);
        if (!there) throw new LogMismatchError(agent, log.base, e.log.length);
        add = [];
      }
    }
    e.snapshot = store(req.snapshot);
    if (log?.replace) e.log = [];
    for (const entry of add) e.log.push(store(entry));
    if (req.processedSeq !== undefined) {
      const done = req.processedSeq;
      e.inbox = e.inbox.filter((r) => r.seq !== done);
    }
    const dl = req.deadLetter;
    if (dl && !e.dead.has(dl.id)) {
      e.dead.set(dl.id, { order: ++e.deadSeq, payload: store(dl.payload) });
      while (e.dead.size > DEAD_LETTER_LIMIT) {
        e.dead.delete(e.dead.keys().next().value!);
        e.deadDropped++;
      }
    }
    for (const r of req.results ?? []) {
      if (!e.results.has(r.messageId)) e.recent.push(r.messageId);
      e.results.set(r.messageId, store(r.payload));
    }
    while (e.recent.length > DEDUP_WINDOW) {
      const old = e.recent.shift()!;
      e.results.delete(old);
      e.messageIds.delete(old);
      const key = e.keyOfMessage.get(old);
      if (key !== undefined) e.idempotencyKeys.delete(key);
      e.keyOfMessage.delete(old);
    }
  }

  async result(agent: string, messageId: string): Promise<Uint8Array | null> {
    const r = this.agents.get(agent)?.results.get(messageId);
    return r !== undefined ? read(r) : null;
  }

  async deadLetters(agent: string, { after, limit }: { after?: string; limit: number }): Promise<DeadLetterRecords> {
    const e = this.agents.get(agent);
    if (!e) return { entries: [], nextCursor: null, dropped: 0 };
    const floor = after === undefined ? 0 : Number(after);
    const page = [...e.dead].filter(([, d]) => d.order > floor).slice(0, limit);
    return {
      entries: page.map(([id, d]) => ({ id, payload: read(d.payload) })),
      nextCursor: page.length === limit ? String(page[page.length - 1]![1].order) : null,
      dropped: e.deadDropped,
    };
  }

  async deadLetter(agent: string, id: string): Promise<Uint8Array | null> {
    const d = this.agents.get(agent)?.dead.get(id);
    return d ? read(d.payload) : null;
  }

  async discardDeadLetter(agent: string, id: string): Promise<boolean> {
    return this.agents.get(agent)?.dead.delete(id) ?? false;
  }

  async delete(agent: string): Promise<boolean> {
    const existed = this.agents.delete(agent);
    this.epochs.set(agent, (this.epochs.get(agent) ?? 0) + 1);
    return existed;
  }

  async list({ type, after, limit }: ListOptions): Promise<string[]> {
    const prefix = type === undefined ? "" : `${type}/`;
    return [...this.agents.keys()]
      .filter((id) => id.startsWith(prefix) && (after === undefined || id > after))
      .sort()
      .slice(0, limit);
  }

  async close(): Promise<void> {}
}
