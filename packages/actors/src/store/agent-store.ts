import type { AgentState, DeadLetter, InboxMessage, PendingMessage, TurnResult } from "../agent/state.ts";
import type { AgentId, MessageId } from "../ids.ts";
import type { AgentMetrics } from "../metrics.ts";
import { noopMetrics } from "../metrics.ts";
import type { AgentHead, EncodedState } from "../snapshot/codec.ts";
import { codec } from "../snapshot/codec.ts";
import type { AppendOutcome, AppendRequest, CommitRequest, ListOptions, StoreDriver } from "./driver.ts";
import { LogMismatchError } from "./driver.ts";

/**
 * What of an agent's conversation its log holds, as its activation last
 * wrote or read it: the first `count` messages of `stored`. Messages are
 * never changed in place, so a conversation that starts with these very
 * objects extends the stored one (a pointer comparison each, no encoding;
 * one comparison when it is `stored` itself, extended in place by its
 * activation's turns).
 * `count` -1: unknown (a commit's outcome was lost), the next commit
 * rewrites the log.
 */
export interface LogCursor {
  count: number;
  stored?: readonly unknown[];
}

export interface LoadedState {
  state: AgentState;
  epoch: number;
  pending: PendingMessage[];
  /** Pass to every commit of this activation: commits then write only new messages. */
  log: LogCursor;
}

export interface CommitOptions {
  processedSeq?: number;
  results?: TurnResult[];
  /** The processed message was given up: it moves to the dead-letter list in the same atomic write. */
  deadLetter?: DeadLetter;
  /** The activation's view of the stored log (from load); updated by the commit. Absent: the log is rewritten. */
  log?: LogCursor;
}

/** A page of an agent's dead-letter list, oldest first. */
export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  /** Pass as `after` for the next page; null on the last one. */
  nextCursor: string | null;
  /** Entries dropped (oldest first) because the list was full. */
  dropped: number;
}

/** Agents created through one store whose first activation may skip the read (see AgentStore.load); the oldest are forgotten past this. */
export const CREATED_REMEMBERED = 1_000;

/** The epoch of an agent's first placement: fences start at 0 and are never reused, even across a delete. */
const FIRST_EPOCH = 1;

/**
 * Agents' persisted data, typed: the codec over a byte-level driver. Times
 * and sizes every snapshot write for the metrics.
 */
export class AgentStore {
  /** What this store's creates wrote, until the agent's first load through it (insertion order: oldest first). */
  private readonly created = new Map<AgentId, EncodedState>();

  constructor(
    readonly driver: StoreDriver,
    private readonly metrics: AgentMetrics = noopMetrics,
  ) {}

  /** A new agent: its head and its conversation's log, unless the agent exists. */
  async create(state: AgentState): Promise<boolean> {
    const encoded = codec.encodeState(state);
    const created = await this.driver.create(state.id, encoded.head, encoded.log);
    if (created) {
      // Copies: the encoder's bytes may be views of a larger shared buffer, which an entry would keep alive.
      this.created.set(state.id, { head: new Uint8Array(encoded.head), log: encoded.log.map((e) => new Uint8Array(e)) });
      if (this.created.size > CREATED_REMEMBERED) this.created.delete(this.created.keys().next().value!);
    }
    return created;
  }

  /**
   * The agent as stored, for an activation at `epoch`. An agent this store
   * created, loaded for its first placement, is what the create wrote, with
   * an empty inbox: fences are never reused, so at epoch 1 no activation
   * ever ran before this one, and only the holder of the fence appends or
   * commits (an append or commit through this store forgets the create). That
   * first activation of a new agent (a worker its supervisor just spawned,
   * an agent messaged through the host that created it) skips the round
   * trip. If the agent moved meanwhile, the fence has passed 1 and this
   * activation's first write is refused as stale, as after any load.
   */
  async load(id: AgentId, epoch?: number): Promise<LoadedState | null> {
    const mine = this.created.get(id);
    if (mine) {
      this.created.delete(id);
      if (epoch === FIRST_EPOCH) {
        const { state } = codec.decodeStored(mine.head, mine.log);
        return { state, epoch, pending: [], log: cursorOf(state.messages) };
      }
    }
    const stored = await this.driver.load(id);
    if (!stored) return null;
    const { state, whole } = codec.decodeStored(stored.snapshot, stored.log);
    return {
      state,
      epoch: stored.epoch,
      pending: stored.inbox.map((r) => ({ seq: r.seq, message: codec.decodeInbox(r.payload) })),
      // A version 1 snapshot's conversation is not in a log yet: the first commit writes it.
      log: whole ? { count: -1 } : cursorOf(state.messages),
    };
  }

  async readState(id: AgentId): Promise<AgentState | null> {
    const stored = await this.driver.readAgent(id);
    return stored ? codec.decodeState(stored.snapshot, stored.log) : null;
  }

  /** The agent's state without its conversation (reads and decodes the head alone). */
  async readHead(id: AgentId): Promise<AgentHead | null> {
    const bytes = await this.driver.readSnapshot(id);
    return bytes ? codec.decodeHead(bytes) : null;
  }

  /** Whether the agent exists (reads its head alone). */
  async exists(id: AgentId): Promise<boolean> {
    return (await this.driver.readSnapshot(id)) !== null;
  }

  /** Appends to the inbox as the activation holding `epoch`. */
  append(id: AgentId, epoch: number, message: InboxMessage): Promise<AppendOutcome> {
    // Whoever appends holds the fence already (a test's claim, say): the next load reads the store.
    this.created.delete(id);
    const entry: AppendRequest = {
      epoch,
      messageId: message.messageId,
      payload: codec.encodeInbox(message),
    };
    if (message.idempotencyKey !== undefined) entry.idempotencyKey = message.idempotencyKey;
    return this.driver.append(id, entry);
  }

  /** The accepted message at `seq`, if it is still in the inbox (not yet processed). */
  async inboxMessage(id: AgentId, seq: number): Promise<InboxMessage | null> {
    const bytes = await this.driver.readInbox(id, seq);
    return bytes ? codec.decodeInbox(bytes) : null;
  }

  /**
   * Fenced write of the snapshot: the head, and of the conversation only the
   * messages the log does not hold yet (all of them when `opts.log` is
   * absent or unknown, or when the conversation no longer extends the
   * stored one, as after a compaction). Throws StaleEpochError if a newer
   * activation owns the agent.
   */
  async commit(id: AgentId, epoch: number, state: AgentState, opts: CommitOptions = {}): Promise<void> {
    this.created.delete(id);
    const started = performance.now();
    const cursor = opts.log;
    const base = cursor && extends_(state.messages, cursor) ? cursor.count : undefined;
    // What this commit writes: a list its owner extends in place may grow while the write is under way.
    const count = state.messages.length;
    const stored = state.messages;
    const encoded = codec.encodeState(state, base ?? 0);
    const req: CommitRequest = {
      epoch,
      snapshot: encoded.head,
      log: base === undefined ? { base: 0, entries: encoded.log, replace: true } : { base, entries: encoded.log },
    };
    if (opts.processedSeq !== undefined) req.processedSeq = opts.processedSeq;
    if (opts.results?.length) req.results = opts.results.map((r) => ({ messageId: r.messageId, payload: codec.encodeResult(r) }));
    if (opts.deadLetter) req.deadLetter = { id: opts.deadLetter.id, payload: codec.encodeDeadLetter(opts.deadLetter) };
    let bytes = encoded.head.byteLength + byteLength(encoded.log);
    try {
      try {
        await this.driver.commit(id, req);
      } catch (e) {
        if (!(e instanceof LogMismatchError)) throw e;
        // The log is not what this activation thought (nothing was written): write it whole.
        const all = codec.encodeState({ ...state, messages: state.messages.slice(0, count) }).log;
        bytes = encoded.head.byteLength + byteLength(all);
        await this.driver.commit(id, { ...req, log: { base: 0, entries: all, replace: true } });
      }
    } catch (e) {
      // The outcome may be unknown (a lost reply): the next commit rewrites the log.
      if (cursor) cursor.count = -1;
      throw e;
    }
    if (cursor) {
      cursor.count = count;
      cursor.stored = stored;
    }
    this.metrics.snapshotWritten((performance.now() - started) / 1000, bytes);
  }

  async result(id: AgentId, messageId: MessageId | string): Promise<TurnResult | null> {
    const bytes = await this.driver.result(id, messageId);
    return bytes ? codec.decodeResult(bytes) : null;
  }

  /** The agent's dead letters, oldest first, after the cursor of the previous page. */
  async deadLetters(id: AgentId, opts: { after?: string; limit: number }): Promise<DeadLetterPage> {
    const page = await this.driver.deadLetters(id, opts);
    return { deadLetters: page.entries.map((e) => codec.decodeDeadLetter(e.payload)), nextCursor: page.nextCursor, dropped: page.dropped };
  }

  async deadLetter(id: AgentId, deadLetterId: string): Promise<DeadLetter | null> {
    const bytes = await this.driver.deadLetter(id, deadLetterId);
    return bytes ? codec.decodeDeadLetter(bytes) : null;
  }

  /** Removes a dead letter; false if there was none with that id. */
  discardDeadLetter(id: AgentId, deadLetterId: string): Promise<boolean> {
    return this.driver.discardDeadLetter(id, deadLetterId);
  }

  delete(id: AgentId): Promise<boolean> {
    this.created.delete(id);
    return this.driver.delete(id);
  }

  list(options: ListOptions): Promise<string[]> {
    return this.driver.list(options);
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}

function byteLength(entries: readonly Uint8Array[]): number {
  let n = 0;
  for (const e of entries) n += e.byteLength;
  return n;
}

function cursorOf(messages: readonly unknown[]): LogCursor {
  return { count: messages.length, stored: messages };
}

/** Whether `messages` extends what the cursor says the log holds. */
function extends_(messages: readonly unknown[], cursor: LogCursor): boolean {
  if (cursor.count < 0 || messages.length < cursor.count) return false;
  if (messages === cursor.stored) return true;
  for (let i = 0; i < cursor.count; i++) if (messages[i] !== cursor.stored![i]) return false;
  return true;
}
