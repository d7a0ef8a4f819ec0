/** One accepted inbox entry as bytes, with its position in the agent's inbox. */
export interface InboxRecord {
  seq: number;
  payload: Uint8Array;
}

export interface StoredAgent {
  /** The head snapshot (see codec.encodeState). */
  snapshot: Uint8Array;
  /** The conversation log, one entry per message, oldest first. */
  log: Uint8Array[];
  /** The current fence: only a writer presenting exactly this epoch may commit. */
  epoch: number;
  /** Accepted messages whose turns have not been committed yet, in order. */
  inbox: InboxRecord[];
}

export type AppendOutcome =
  | { kind: "accepted"; seq: number }
  /**
   * Seen before, by message id or idempotency key: `messageId` is the
   * original, `seq` its inbox position (absent when no longer known). The
   * entry may never have been queued (its append's reply was lost, this is
   * the resend): the caller queues it if it is still in the inbox.
   */
  | { kind: "duplicate"; messageId: string; seq?: number }
  | { kind: "missing" }
  /** The appender's epoch is not the agent's fence: a newer activation owns the inbox. */
  | { kind: "stale"; current: number };

/** An inbox entry to append, by the activation holding `epoch`. */
export interface AppendRequest {
  epoch: number;
  messageId: string;
  idempotencyKey?: string;
  payload: Uint8Array;
}

/**
 * Log entries a commit adds: appended when the log holds exactly `base`
 * entries (the writer's view of what is stored), or replacing the whole log
 * with `replace` (the first commit of a version 1 snapshot, a compaction,
 * any commit after one whose outcome is unknown).
 */
export interface LogWrite {
  base: number;
  entries: Uint8Array[];
  replace?: boolean;
}

/** The log does not hold `base` entries (nor `base` + the entries, which a resend of this very commit would find): nothing was written. */
export class LogMismatchError extends Error {
  override name = "LogMismatchError";
  constructor(readonly agent: string, readonly expected: number, readonly actual: number) {
    super(`log of ${agent} holds ${actual} entries, the commit expected ${expected}`);
  }
}

export interface CommitRequest {
  epoch: number;
  snapshot: Uint8Array;
  /** Conversation entries to add; absent: the log is left as it is. */
  log?: LogWrite;
  /** The inbox entry with this seq is done and removed (exactly that one: an earlier entry not yet run stays). */
  processedSeq?: number;
  /** Outcomes to keep for dedup and late readers, by message id. */
  results?: { messageId: string; payload: Uint8Array }[];
  /** The processed entry moves to the dead-letter list under this id (written once: a resend changes nothing). */
  deadLetter?: { id: string; payload: Uint8Array };
}

/** A page of dead letters as bytes, oldest first. */
export interface DeadLetterRecords {
  entries: { id: string; payload: Uint8Array }[];
  nextCursor: string | null;
  /** Entries dropped so far because the list was full. */
  dropped: number;
}

export interface ListOptions {
  /** Only ids starting with `<type>/`. */
  type?: string;
  /** Ids strictly after this one (the previous page's last id). */
  after?: string;
  limit: number;
}

/** How many processed message ids (and their results) an agent remembers for dedup. */
export const DEDUP_WINDOW = 1000;

/** Dead letters kept per agent; past this the oldest are dropped (and counted). */
export const DEAD_LETTER_LIMIT = 1000;

/**
 * The byte-level persistence seam for agents: snapshots, the durable inbox,
 * dedup and turn results, fenced by an epoch. Implemented in memory and on
 * Redis; one contract suite runs against both. It never sees decoded data.
 */
export interface StoreDriver {
  /** Writes the first snapshot (and log) unless the agent exists; false if it did. */
  create(agent: string, snapshot: Uint8Array, log?: Uint8Array[]): Promise<boolean>;
  /** The agent's current fence (0 if it was never claimed). */
  epoch(agent: string): Promise<number>;
  load(agent: string): Promise<StoredAgent | null>;
  /** The head snapshot alone (cheap: existence, status, children). */
  readSnapshot(agent: string): Promise<Uint8Array | null>;
  /** The head and the log, read together (one consistent view). */
  readAgent(agent: string): Promise<{ snapshot: Uint8Array; log: Uint8Array[] } | null>;
  /**
   * Stores an inbox entry unless its message id or idempotency key was seen
   * (an empty idempotency key is no key). Fenced like commits: only the
   * current activation accepts messages, so a zombie can never acknowledge one
   * that the live activation would not see.
   */
  append(agent: string, entry: AppendRequest): Promise<AppendOutcome>;
  /** The inbox entry at `seq` if it is still there (accepted and not yet processed). */
  readInbox(agent: string, seq: number): Promise<Uint8Array | null>;
  /**
   * Atomically: checks the fence and the log's length, writes the snapshot
   * and the log entries, trims processed inbox entries and records results.
   * Throws StaleEpochError for a stale epoch, LogMismatchError for a log
   * that does not hold what the writer thought (nothing is written).
   */
  commit(agent: string, request: CommitRequest): Promise<void>;
  result(agent: string, messageId: string): Promise<Uint8Array | null>;
  /** Dead letters in the order they were added, strictly after the cursor `after` (a page's nextCursor). */
  deadLetters(agent: string, options: { after?: string; limit: number }): Promise<DeadLetterRecords>;
  deadLetter(agent: string, id: string): Promise<Uint8Array | null>;
  /** Removes one dead letter; false if there was none with that id. Unfenced: the list is not the activation's state. */
  discardDeadLetter(agent: string, id: string): Promise<boolean>;
  /** Removes everything of the agent and advances its fence; false if it did not exist. */
  delete(agent: string): Promise<boolean>;
  list(options: ListOptions): Promise<string[]>;
  close(): Promise<void>;
}
