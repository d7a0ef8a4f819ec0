import type { Clock, TimerHandle } from "../clock.ts";
import { AgentNotHereError, NotFoundError, StaleEpochError, WrongStateError, errorMessage } from "../errors.ts";
import type { AgentId, HostId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import type { AgentMetrics } from "../metrics.ts";
import { messageTiming } from "../message-timing.ts";
import type { ModelProvider } from "../model/provider.ts";
import type { ToolRegistry } from "../tools/registry.ts";
import type { ApprovalWatch } from "./approval-watch.ts";
import type { EventSink } from "./event-sink.ts";
import type { TraceIds } from "./event-sink.ts";
import { traceOf } from "./event-sink.ts";
import type { AgentEvent } from "./events.ts";
import type { FinishedTurn, HotState } from "./hot-state.ts";
import type { InboxQueue } from "./inbox-queue.ts";
import type { Lifecycle } from "./lifecycle.ts";
import { startsTurns } from "./lifecycle.ts";
import type { AgentState, PendingMessage } from "./state.ts";
import { runTurn } from "./turn.ts";
import type { TurnDeps } from "./turn-deps.ts";
import type { Answer, ResultWaiters } from "./waiters.ts";

/** Back-off before retrying a turn whose checkpoint failed for a reason other than fencing. */
export const COMMIT_RETRY_MS = 250;

/** A person's (or the approval deadline's) decision on a tool call waiting for approval. */
export interface Decision {
  callId: string;
  approve: boolean;
  reason?: string;
  by: string;
}

/** The parts of an activation its turn loop works on (shared, not owned: the activation ends them). */
export interface TurnLoopParts {
  id: AgentId;
  deps: { hostId: HostId; model: ModelProvider; tools: ToolRegistry; clock: Clock; metrics: AgentMetrics };
  hot: HotState;
  queue: InboxQueue;
  waiters: ResultWaiters;
  approvals: ApprovalWatch;
  events: EventSink;
  log: Logger;
  lifecycle: Lifecycle;
  /** Aborted when the activation is fenced or its drain deadline passes. */
  signal: AbortSignal;
  /** Whether `signal` is aborted, without making a signal (an idle agent has none; most turns never need one). */
  readonly aborted: boolean;
  /** Asks the actor to drain again (a "turn" message). */
  wake(): void;
  /** Ends the activation without writing: a newer one owns the agent. */
  fence(error: Error): void;
  /** The agent did something: its idle time starts again. */
  touch(): void;
}

/**
 * What an activation's actor does with its messages, one at a time: runs
 * the queued messages' turns in order, commits them, retries failed
 * commits, and applies approval decisions and operator resumes.
 */
export class TurnLoop {
  /** A turn is running now (the agent is not idle even if its queue is momentarily empty). */
  running = false;
  private retryTimer: TimerHandle | undefined;

  constructor(private readonly p: TurnLoopParts) {}

  private get state(): AgentState {
    return this.p.hot.current;
  }

  /** Cancels a pending commit retry (the activation ended). */
  stop(): void {
    this.retryTimer?.cancel();
  }

  /**
   * Runs queued messages one after another until none is left or something
   * blocks them (a person's approval, an open circuit, a failed commit that
   * will be retried). One "turn" signal drains everything: signals that
   * arrive while blocked may be no-ops, no message waits for a new one.
   */
  async drain(): Promise<void> {
    while (startsTurns(this.p.lifecycle.phase) && !this.p.aborted) {
      if (this.p.hot.unsaved) {
        if (!(await this.tryCommit(this.state))) return;
        continue;
      }
      if (this.state.turn?.awaiting.length) {
        // The pause's own checkpoint failed: make it durable before anyone decides.
        if (this.p.hot.dirty && (await this.tryCommit(this.state))) this.p.approvals.sync();
        return;
      }
      if (this.state.status === "suspended") return;
      const head = this.p.queue.next(this.state.turn?.seq);
      if (!head || !(await this.runHead(head))) return;
    }
  }

  /** Runs (or resumes) the head message's turn; true once it is done and committed. */
  private async runHead(head: PendingMessage): Promise<boolean> {
    this.running = true;
    const started = this.p.deps.clock.now();
    const turnNo = this.state.turns + 1;
    const { messageId } = head.message;
    const trace = traceOf(head.message);
    messageTiming.mark(messageId, "turn");
    if (this.p.log.isDebugEnabled?.() !== false) this.p.log.debug({ messageId, traceId: trace.traceId, turn: turnNo }, "turn starts");
    try {
      const outcome = await runTurn(this.state, head, new ActivationTurnDeps(this.p, turnNo, messageId, trace));
      // Fenced while the last step ran: this activation must not write again.
      if (this.p.lifecycle.ended) return false;
      this.p.hot.publish(outcome.state);
      if (outcome.kind === "paused") {
        this.p.approvals.sync();
        this.p.waiters.paused(messageId, outcome.state.turn?.awaiting.map((a) => a.callId) ?? []);
        return false;
      }
      // From here the turn is done in memory: a failed commit is retried as
      // a commit (drain), the model and tools are never called again for it.
      this.p.hot.unsaved = { seq: head.seq, result: outcome.result, started, ...(outcome.deadLetter ? { deadLetter: outcome.deadLetter } : {}) };
      return await this.tryCommit(this.state);
    } catch (e) {
      this.onTurnError(e);
      return false;
    } finally {
      this.running = false;
      this.p.touch();
    }
  }

  /**
   * The last write before the activation ends, unless it was fenced: a
   * finished turn is saved even after the drain deadline aborted (its model
   * and tools ran); a failure leaves the last durable checkpoint standing.
   */
  async finalCheckpoint(): Promise<void> {
    const { hot, lifecycle } = this.p;
    try {
      if (!lifecycle.ended && ((hot.dirty && !this.p.aborted) || hot.unsaved)) await hot.commit(hot.current);
    } catch (e) {
      this.p.log.warn({ err: errorMessage(e) }, "final checkpoint failed; the last durable checkpoint stands");
    }
  }

  /** Commits; on failure schedules the retry (or ends the activation if fenced) and answers false. */
  private async tryCommit(state: AgentState): Promise<boolean> {
    try {
      await this.p.hot.commit(state);
      return true;
    } catch (e) {
      this.onTurnError(e);
      return false;
    }
  }

  /** A finished turn is durable: its message leaves the queue and its waiters get the result. */
  completed(finished: FinishedTurn): void {
    this.p.queue.complete(finished.seq);
    this.p.deps.metrics.message(this.state.type, finished.result.status);
    if (finished.deadLetter) {
      this.p.deps.metrics.deadLettered(this.state.type);
      const { reason, attempts } = finished.deadLetter;
      this.p.log.warn({ messageId: finished.result.messageId, code: reason.code, attempts }, "message dead-lettered; the queue moves on");
    }
    this.p.deps.metrics.turnFinished(this.state.type, (this.p.deps.clock.now() - finished.started) / 1000);
    this.p.waiters.resolve(finished.result.messageId, finished.result);
  }

  private onTurnError(e: unknown): void {
    if (this.p.aborted) return;
    if (e instanceof StaleEpochError) {
      // A newer activation owns the agent: this one must never write again.
      this.p.log.warn({ err: e.message }, "fenced by a newer activation; dropping it");
      this.p.fence(new AgentNotHereError(this.p.id, this.p.deps.hostId));
      return;
    }
    // The store failed (Redis down?): keep the in-memory progress and retry
    // the turn from it; runTurn resumes after the last completed step.
    this.p.log.error({ err: errorMessage(e) }, "turn could not be made durable; retrying");
    this.retryTimer?.cancel();
    this.retryTimer = this.p.deps.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.p.lifecycle.ended) this.p.wake();
    }, COMMIT_RETRY_MS);
  }

  /** Applies a decision on a waiting tool call; the turn goes on once none waits. Answers `m.done`. */
  async decide(m: Decision & { done: Answer }): Promise<void> {
    try {
      const turn = this.state.turn;
      const request = turn?.awaiting.find((a) => a.callId === m.callId);
      if (!turn || !request) throw new NotFoundError(`agent ${this.p.id} has no tool call ${m.callId} waiting for approval`, { field: "callId" });
      const decision = { approve: m.approve, by: m.by, at: this.p.deps.clock.now(), ...(m.reason !== undefined ? { reason: m.reason } : {}) };
      const awaiting = turn.awaiting.filter((a) => a.callId !== m.callId);
      await this.p.hot.change((s) => ({
        ...s,
        status: awaiting.length ? "awaiting_approval" : "running",
        turn: { ...turn, awaiting, decisions: { ...turn.decisions, [m.callId]: decision } },
        updatedAt: this.p.deps.clock.now(),
      }));
      await this.p.approvals.decided(m.callId);
      this.p.log.info({ callId: m.callId, tool: request.tool, approve: m.approve, by: m.by }, "tool call decided");
      this.p.events.emit({ kind: "approval_decided", callId: m.callId, approve: m.approve, by: m.by, ...(m.reason !== undefined ? { reason: m.reason } : {}) }, this.state.turns + 1, turn.messageId);
      this.p.approvals.sync();
      if (awaiting.length === 0) this.p.wake();
      m.done();
    } catch (e) {
      if (e instanceof StaleEpochError) this.onTurnError(e);
      m.done(e);
    }
  }

  /** Closes the agent's open circuit and drains the queue again. Answers `done`. */
  async resume(done: Answer): Promise<void> {
    try {
      if (this.state.status !== "suspended") throw new WrongStateError(`agent ${this.p.id} is not suspended (status ${this.state.status})`);
      await this.p.hot.change((s) => ({ ...s, status: "idle", suspension: null, updatedAt: this.p.deps.clock.now() }));
      this.p.log.info({}, "resumed by an operator");
      this.p.events.emit({ kind: "status", status: "idle", reason: "resumed by an operator" }, this.state.turns);
      this.p.wake();
      done();
    } catch (e) {
      if (e instanceof StaleEpochError) this.onTurnError(e);
      done(e);
    }
  }
}

/**
 * What a turn of the activation gets: one object per turn, its methods
 * shared (a literal with three closures cost four allocations a message).
 * Its signal is made only when the turn asks for it (a model or tool that
 * can be aborted): an AbortController costs more than a scripted turn.
 */
class ActivationTurnDeps implements TurnDeps {
  // The hot state is the only holder of its message list: appends go in place.
  readonly ownsConversation = true;

  constructor(
    private readonly p: TurnLoopParts,
    private readonly turnNo: number,
    private readonly messageId: string,
    private readonly trace: TraceIds,
  ) {}

  get model(): ModelProvider {
    return this.p.deps.model;
  }
  get tools(): ToolRegistry {
    return this.p.deps.tools;
  }
  get clock(): Clock {
    return this.p.deps.clock;
  }
  get metrics(): AgentMetrics {
    return this.p.deps.metrics;
  }
  get signal(): AbortSignal {
    return this.p.signal;
  }
  publish(s: AgentState): void {
    this.p.hot.publish(s);
  }
  checkpoint(s: AgentState): Promise<void> {
    return this.p.hot.commit(s);
  }
  readonly emit = (event: AgentEvent): void => this.p.events.emit(event, this.turnNo, this.messageId, this.trace);
}
