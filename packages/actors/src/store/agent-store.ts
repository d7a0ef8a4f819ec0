import type { AgentState, DeadLetter, InboxMessage, PendingMessage, TurnResult } from "../agent/state.ts";
import type { AgentId, MessageId } from "../ids.ts";
import type { AgentMetrics } from "../metrics.ts";
import { noopMetrics } from "../metrics.ts";
import { codec } from "../snapshot/codec.ts";
import type { AppendOutcome, AppendRequest, ListOptions, StoreDriver } from "./driver.ts";

export interface LoadedState {
  state: AgentState;
  epoch: number;
  pending: PendingMessage[];
}

export interface CommitOptions {
  processedSeq?: number;
  results?: TurnResult[];
  /** The processed message was given up: it moves to the dead-letter list in the same atomic write. */
  deadLetter?: DeadLetter;
}

/** A page of an agent's dead-letter list, oldest first. */
export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  /** Pass as `after` for the next page; null on the last one. */
  nextCursor: string | null;
  /** Entries dropped (oldest first) because the list was full. */
  dropped: number;
}

/**
 * Agents' persisted data, typed: the codec over a byte-level driver. Times
 * and sizes every snapshot write for the metrics.
 */
export class AgentStore {
  constructor(
    readonly driver: StoreDriver,
    private readonly metrics: AgentMetrics = noopMetrics,
  ) {}

  create(state: AgentState): Promise<boolean> {
    return this.driver.create(state.id, codec.encodeState(state));
  }

  claim(id: AgentId): Promise<number> {
    return this.driver.claim(id);
  }

  async load(id: AgentId): Promise<LoadedState | null> {
    const stored = await this.driver.load(id);
    if (!stored) return null;
    return {
      state: codec.decodeState(stored.snapshot),
      epoch: stored.epoch,
      pending: stored.inbox.map((r) => ({ seq: r.seq, message: codec.decodeInbox(r.payload) })),
    };
  }

  async readState(id: AgentId): Promise<AgentState | null> {
    const bytes = await this.driver.readSnapshot(id);
    return bytes ? codec.decodeState(bytes) : null;
  }

  /** Appends to the inbox as the activation holding `epoch`. */
  append(id: AgentId, epoch: number, message: InboxMessage): Promise<AppendOutcome> {
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

  /** Fenced write of the snapshot; throws StaleEpochError if a newer activation owns the agent. */
  async commit(id: AgentId, epoch: number, state: AgentState, opts: CommitOptions = {}): Promise<void> {
    const started = performance.now();
    const snapshot = codec.encodeState(state);
    const req: Parameters<StoreDriver["commit"]>[1] = { epoch, snapshot };
    if (opts.processedSeq !== undefined) req.processedSeq = opts.processedSeq;
    if (opts.results?.length) req.results = opts.results.map((r) => ({ messageId: r.messageId, payload: codec.encodeResult(r) }));
    if (opts.deadLetter) req.deadLetter = { id: opts.deadLetter.id, payload: codec.encodeDeadLetter(opts.deadLetter) };
    await this.driver.commit(id, req);
    this.metrics.snapshotWritten((performance.now() - started) / 1000, snapshot.byteLength);
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
    return this.driver.delete(id);
  }

  list(options: ListOptions): Promise<string[]> {
    return this.driver.list(options);
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
