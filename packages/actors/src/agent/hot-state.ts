import type { AgentId } from "../ids.ts";
import { messageTiming } from "../message-timing.ts";
import type { AgentStore, CommitOptions, LogCursor } from "../store/agent-store.ts";
import type { AgentState, DeadLetter, TurnResult } from "./state.ts";
import { sharedConfig } from "./shared-config.ts";

/** A finished turn whose commit has not succeeded yet: retried as a commit, never run again. */
export interface FinishedTurn {
  seq: number;
  result: TurnResult;
  /** When the turn started (clock time), for its duration metric. */
  started: number;
  deadLetter?: DeadLetter;
}

/**
 * An activation's hot context and what of it is durable. Every write of the
 * snapshot goes through `commit`, fenced by the activation's epoch.
 */
export class HotState {
  /** The current context: readers see a running turn's progress at once. */
  current: AgentState;
  /** The current context holds changes no commit has written yet. */
  dirty = false;
  /** A finished turn not durable yet: every commit carries it until one succeeds. */
  unsaved: FinishedTurn | undefined;
  /** What of the conversation the store's log holds: a commit writes only what is new. */
  private readonly storedLog: LogCursor;

  /** `onCompleted` hears of each finished turn once its commit succeeded. */
  constructor(
    private readonly id: AgentId,
    private readonly epoch: number,
    loaded: { state: AgentState; log: LogCursor },
    private readonly store: AgentStore,
    private readonly onCompleted: (finished: FinishedTurn) => void,
  ) {
    // The activation's own id and the process's shared config: the decoded
    // ones hold slices of the whole encoded snapshot (msgpackr reads strings
    // out of one big string), which they would keep alive as long as the
    // agent stays here.
    this.current = { ...loaded.state, id, config: sharedConfig(loaded.state.config) };
    this.storedLog = loaded.log;
  }

  /** A new context, not durable yet. */
  publish(state: AgentState): void {
    this.current = state;
    this.dirty = true;
  }

  /**
   * Writes `state`: while a finished turn is unsaved, any commit (a
   * checkpoint, a resume, the final one) carries its result and the deletion
   * of its inbox entry, so the snapshot never says the message was processed
   * while its entry stays in the inbox. A message given up moves to the
   * dead-letter list in that same write: never in both the inbox and the
   * list, never in neither.
   */
  async commit(state: AgentState): Promise<void> {
    const finished = this.unsaved;
    const messageId = state.turn?.messageId ?? finished?.result.messageId;
    if (messageId) messageTiming.mark(messageId, "commit");
    const opts: CommitOptions = { log: this.storedLog };
    if (finished) {
      opts.processedSeq = finished.seq;
      opts.results = [finished.result];
      if (finished.deadLetter) opts.deadLetter = finished.deadLetter;
    }
    await this.store.commit(this.id, this.epoch, state, opts);
    if (messageId) messageTiming.mark(messageId, "committed");
    if (state === this.current) this.dirty = false;
    if (finished && this.unsaved === finished) {
      this.unsaved = undefined;
      this.onCompleted(finished);
    }
  }

  /**
   * Applies `change` to the context and commits it; if the commit fails the
   * change is undone, so the caller may simply retry (a retried decision
   * finds its call still waiting, not a 404 for a half-applied one).
   */
  async change(change: (s: AgentState) => AgentState): Promise<void> {
    const before = this.current;
    const after = change(before);
    this.publish(after);
    try {
      await this.commit(after);
    } catch (e) {
      if (this.current === after) this.current = before;
      throw e;
    }
  }
}
