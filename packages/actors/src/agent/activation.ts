import type { Clock, TimerHandle } from "../clock.ts";
import { AgentNotHereError, NotFoundError, StaleEpochError, WrongStateError, errorMessage } from "../errors.ts";
import type { ActivationId, AgentId, HostId } from "../ids.ts";
import { newActivationId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import type { ActivationReason, AgentMetrics } from "../metrics.ts";
import type { ModelProvider } from "../model/provider.ts";
import type { ActorRef, ActorRuntime } from "../runtime/actor-runtime.ts";
import type { AgentStore, LogCursor } from "../store/agent-store.ts";
import type { ApprovalIndex } from "../store/approval-index.ts";
import { forgetApprovalsIfDeleted } from "../store/approval-index.ts";
import type { AgentEvent, AgentEventRecord } from "./events.ts";
import type { ToolRegistry } from "../tools/registry.ts";
import type { AgentState, DeadLetter, InboxMessage, PendingMessage, TurnResult } from "./state.ts";
import { InboxQueue } from "./inbox-queue.ts";
import { runTurn } from "./turn.ts";
import { messageTiming } from "../message-timing.ts";

export interface ActivationDeps {
  hostId: HostId;
  store: AgentStore;
  model: ModelProvider;
  tools: ToolRegistry;
  runtime: ActorRuntime;
  clock: Clock;
  metrics: AgentMetrics;
  logger: Logger;
  /** Receives every event of this agent's turns (live stream, execution trace). */
  onEvent?: (record: AgentEventRecord) => void;
  /** Lists tool calls waiting for approval, for every host to see. */
  approvals: ApprovalIndex;
  /** Called once when the activation ends: `fenced` if it ended without writing (a newer activation owns the agent). */
  onStopped?: (activation: Activation, how: { fenced: boolean; pending: number }) => void;
}

export type AcceptOutcome = { kind: "accepted"; seq: number } | { kind: "duplicate"; messageId: string };

/** Back-off before retrying a turn whose checkpoint failed for a reason other than fencing. */
export const COMMIT_RETRY_MS = 250;

type Phase = "active" | "stopping" | "stopped";
type ActorMessage =
  | { kind: "turn" }
  | { kind: "stop"; done: () => void }
  | { kind: "decide"; callId: string; approve: boolean; reason?: string; by: string; done: (error?: unknown) => void }
  | { kind: "resume"; done: (error?: unknown) => void };

interface Waiter {
  resolve(result: TurnResult): void;
  reject(error: unknown): void;
}

/**
 * One life of an agent on this host: its hot context, its queue of accepted
 * messages, and the nact actor that runs their turns one at a time, in
 * acceptance order. Acceptance (the durable append) happens outside the
 * actor, so it never waits for a running turn; so does reading the state.
 */
export class Activation {
  readonly activationId: ActivationId = newActivationId();
  private phase: Phase = "active";
  private state: AgentState;
  private readonly queue: InboxQueue;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly pauseWaiters = new Map<string, Set<(callIds: string[]) => void>>();
  private readonly actor: ActorRef<ActorMessage>;
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private inflightAccepts = 0;
  private acceptsSettled: (() => void) | undefined;
  private running = false;
  private dirty = false;
  private retryTimer: TimerHandle | undefined;
  private lastActive: number;
  private stoppedPromise: Promise<void> | undefined;
  private handoff = false;
  private approvalTimer: TimerHandle | undefined;
  /** A finished turn whose commit has not succeeded yet: retried as a commit, never run again. */
  private unsaved: { seq: number; result: TurnResult; started: number; deadLetter?: DeadLetter } | undefined;
  /** Callbacks of stop/decide/resume handed to the actor and not yet answered: settled if the actor ends first. */
  private readonly requests = new Set<(error?: unknown) => void>();
  /** What of the conversation the store's log holds: a commit writes only what is new. */
  private readonly storedLog: LogCursor;

  private constructor(
    readonly id: AgentId,
    readonly epoch: number,
    loaded: { state: AgentState; pending: PendingMessage[]; log: LogCursor },
    private readonly deps: ActivationDeps,
  ) {
    this.state = loaded.state;
    this.storedLog = loaded.log;
    // The inbox holds exactly the entries not processed yet (commits delete
    // each processed one atomically with the snapshot that records it).
    this.queue = new InboxQueue(loaded.pending);
    this.lastActive = deps.clock.now();
    this.log = deps.logger.child({ agent: id, activation: this.activationId, epoch });
    // nact names allow URL-safe characters only; "." never occurs in an id.
    this.actor = deps.runtime.spawn<ActorMessage>(`${id.replace("/", ".")}.${this.activationId}`, (m) => this.handle(m), (e) => {
      this.log.error({ err: errorMessage(e) }, "agent actor crashed; resuming");
    });
  }

  /**
   * Loads the agent at `epoch` (already claimed: the fence now rejects every
   * older activation) and starts its actor; pending messages run at once.
   * Returns null if the agent does not exist. `reason` is a hint: a restore
   * of an agent that never ran counts as "new".
   */
  static async start(id: AgentId, epoch: number, reason: ActivationReason, deps: ActivationDeps): Promise<Activation | null> {
    const loaded = await deps.store.load(id);
    if (!loaded) return null;
    if (loaded.epoch !== epoch) throw new StaleEpochError(id, epoch, loaded.epoch);
    const activation = new Activation(id, epoch, loaded, deps);
    const fresh = loaded.state.turns === 0 && loaded.state.messages.length === 0;
    deps.metrics.activated(loaded.state.type, reason === "failover" ? reason : fresh ? "new" : "restore");
    activation.log.debug({ reason, pending: activation.queue.length }, "activated");
    activation.actor.tell({ kind: "turn" });
    activation.watchApprovals();
    return activation;
  }

  /** The current context; never waits for a running turn. */
  view(): AgentState {
    return this.state;
  }

  get active(): boolean {
    return this.phase === "active";
  }

  /** Accepted messages not yet done, including a running one. */
  pendingCount(): number {
    return this.queue.length;
  }

  /** When the agent last did or accepted anything; null while it has work. */
  idleSince(): number | null {
    // An agent waiting for a person stays active: it owns the approval's timeout.
    if (this.state.turn?.awaiting.length) return null;
    if (this.running || this.queue.length > 0 || this.inflightAccepts > 0) return null;
    return this.lastActive;
  }

  /**
   * Appends the message to the durable inbox, then queues its turn. Resolves
   * only once the message is stored: that is the acknowledgement.
   */
  async accept(message: InboxMessage): Promise<AcceptOutcome> {
    if (this.phase !== "active") throw new AgentNotHereError(this.id, this.deps.hostId);
    this.inflightAccepts++;
    try {
      const outcome = await this.deps.store.append(this.id, this.epoch, message);
      if (outcome.kind === "missing") throw new NotFoundError(`agent ${this.id} does not exist`);
      if (outcome.kind === "stale") {
        const notHere = new AgentNotHereError(this.id, this.deps.hostId);
        this.log.warn({ current: outcome.current }, "fenced by a newer activation at accept; dropping it");
        this.fence(notHere);
        throw notHere;
      }
      if (outcome.kind === "duplicate") {
        if (outcome.seq !== undefined) await this.requeue(outcome.seq, outcome.messageId === message.messageId ? message : undefined);
        return outcome;
      }
      this.enqueue(outcome.seq, message);
      return outcome;
    } finally {
      if (--this.inflightAccepts === 0) this.acceptsSettled?.();
      this.lastActive = this.deps.clock.now();
    }
  }

  /**
   * A duplicate may be an entry that was never queued: the append ran but
   * its reply was lost, and this is the resend (or the client's retry). If
   * it is neither processed nor queued, queue it now; left out, it would
   * never run. `same` is the message itself when the duplicate is this very
   * message id (its payload is the stored one): queued at once, in order.
   */
  private async requeue(seq: number, same: InboxMessage | undefined): Promise<void> {
    if (this.queue.knows(seq)) return;
    // Past the last processed seq it cannot have been processed (lastSeq only grows).
    if (same && seq > this.state.lastSeq) return this.enqueue(seq, same);
    const stored = await this.deps.store.inboxMessage(this.id, seq);
    if (stored && this.phase !== "stopped") this.enqueue(seq, stored);
  }

  private enqueue(seq: number, message: InboxMessage): void {
    // Appends resolve in inbox order on one connection; the queue keeps seq order even if not.
    if (this.queue.add(seq, message)) this.actor.tell({ kind: "turn" });
  }

  /**
   * The result of a message: at once if its turn is done (read from the
   * store), else when the turn completes. Null if this agent never had it.
   */
  async result(messageId: string): Promise<TurnResult | null> {
    if (this.queue.hasMessage(messageId)) {
      return new Promise<TurnResult>((resolve, reject) => {
        const list = this.waiters.get(messageId) ?? [];
        list.push({ resolve, reject });
        this.waiters.set(messageId, list);
      });
    }
    return this.deps.store.result(this.id, messageId);
  }

  /**
   * Calls `listener` with the waiting call ids once the turn of `messageId`
   * pauses for approval (at once if it is paused now). Returns the unsubscribe.
   */
  onPause(messageId: string, listener: (callIds: string[]) => void): () => void {
    const turn = this.state.turn;
    if (turn?.messageId === messageId && turn.awaiting.length) {
      listener(turn.awaiting.map((a) => a.callId));
      return () => {};
    }
    const set = this.pauseWaiters.get(messageId) ?? new Set();
    set.add(listener);
    this.pauseWaiters.set(messageId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.pauseWaiters.get(messageId) === set) this.pauseWaiters.delete(messageId);
    };
  }

  /**
   * Ends this activation after its accepted messages have run or, with
   * `handoff`, after the running turn only: the rest stay in the durable
   * inbox for the next activation, wherever it is. With `abortAfterMs`, a
   * turn still running then stops at its last checkpoint.
   */
  stop(opts: { abortAfterMs?: number; handoff?: boolean } = {}): Promise<void> {
    if (this.stoppedPromise) return this.stoppedPromise;
    if (this.phase === "stopped") return Promise.resolve();
    this.phase = "stopping";
    this.handoff = opts.handoff ?? false;
    this.stoppedPromise = (async () => {
      if (this.inflightAccepts > 0) await new Promise<void>((r) => (this.acceptsSettled = r));
      const deadline = opts.abortAfterMs === undefined ? undefined : this.deps.clock.setTimeout(() => this.abort.abort(new Error("drain deadline passed")), opts.abortAfterMs);
      // Settled with an error if the actor ends (fenced) before it gets here: stopped either way.
      await this.ask((done) => ({ kind: "stop", done })).catch(() => undefined);
      deadline?.cancel();
    })();
    return this.stoppedPromise;
  }

  /**
   * Records a person's decision on a tool call waiting for approval; when
   * the last one is decided the turn resumes. Rejects if there is no such call.
   */
  decide(callId: string, approve: boolean, reason?: string, by = "operator"): Promise<void> {
    return this.ask((done) => ({ kind: "decide", callId, approve, ...(reason !== undefined ? { reason } : {}), by, done }));
  }

  /** Closes the agent's open circuit (an operator's call): it takes messages again and runs the queued ones. */
  resume(): Promise<void> {
    return this.ask((done) => ({ kind: "resume", done }));
  }

  /**
   * Hands a request to the actor. Its promise always settles: nact drops the
   * messages of an actor stopped while they wait, so `fence` and `finalize`
   * answer every request still open.
   */
  private ask(build: (done: (error?: unknown) => void) => ActorMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.phase === "stopped") return reject(new AgentNotHereError(this.id, this.deps.hostId));
      const done = (error?: unknown) => {
        if (!this.requests.delete(done)) return;
        if (error) reject(error);
        else resolve();
      };
      this.requests.add(done);
      this.actor.tell(build(done));
    });
  }

  private async handle(m: ActorMessage): Promise<void> {
    if (m.kind === "stop") return this.finalize(m.done);
    if (m.kind === "decide") return this.onDecide(m);
    if (m.kind === "resume") return this.onResume(m.done);
    return this.drain();
  }

  /**
   * Runs queued messages one after another until none is left or something
   * blocks them (a person's approval, an open circuit, a failed commit that
   * will be retried). One "turn" signal drains everything: signals that
   * arrive while blocked may be no-ops, no message waits for a new one.
   */
  private async drain(): Promise<void> {
    while (this.phase !== "stopped" && !this.abort.signal.aborted && !this.handoff) {
      if (this.unsaved) {
        if (!(await this.tryCommit(this.state))) return;
        continue;
      }
      if (this.state.turn?.awaiting.length) {
        // The pause's own checkpoint failed: make it durable before anyone decides.
        if (this.dirty && (await this.tryCommit(this.state))) this.watchApprovals();
        return;
      }
      if (this.state.status === "suspended") return;
      const head = this.queue.next(this.state.turn?.seq);
      if (!head || !(await this.runHead(head))) return;
    }
  }

  /** Runs (or resumes) the head message's turn; true once it is done and committed. */
  private async runHead(head: PendingMessage): Promise<boolean> {
    this.running = true;
    const started = this.deps.clock.now();
    const turnNo = this.state.turns + 1;
    const traceId = head.message.traceparent?.split("-")[1];
    const trace: TraceIds = { traceId, spanId: head.message.traceparent?.split("-")[2], parentSpanId: head.message.parentSpanId };
    messageTiming.mark(head.message.messageId, "turn");
    this.log.debug({ messageId: head.message.messageId, traceId, turn: turnNo }, "turn starts");
    try {
      const outcome = await runTurn(this.state, head, {
        model: this.deps.model,
        tools: this.deps.tools,
        clock: this.deps.clock,
        signal: this.abort.signal,
        publish: (s) => {
          this.state = s;
          this.dirty = true;
        },
        checkpoint: (s) => this.commit(s),
        metrics: this.deps.metrics,
        emit: (event) => this.emit(event, turnNo, head.message.messageId, trace),
      });
      // Fenced while the last step ran: this activation must not write again.
      if (this.phase === "stopped") return false;
      this.state = outcome.state;
      this.dirty = true;
      if (outcome.kind === "paused") {
        this.watchApprovals();
        const callIds = outcome.state.turn?.awaiting.map((a) => a.callId) ?? [];
        for (const listener of [...(this.pauseWaiters.get(head.message.messageId) ?? [])]) listener(callIds);
        return false;
      }
      // From here the turn is done in memory: a failed commit is retried as
      // a commit (drain), the model and tools are never called again for it.
      this.unsaved = { seq: head.seq, result: outcome.result, started, ...(outcome.deadLetter ? { deadLetter: outcome.deadLetter } : {}) };
      return await this.tryCommit(this.state);
    } catch (e) {
      this.onTurnError(e);
      return false;
    } finally {
      this.running = false;
      this.lastActive = this.deps.clock.now();
    }
  }

  /** Commits; on failure schedules the retry (or ends the activation if fenced) and answers false. */
  private async tryCommit(state: AgentState): Promise<boolean> {
    try {
      await this.commit(state);
      return true;
    } catch (e) {
      this.onTurnError(e);
      return false;
    }
  }

  /**
   * Every write of the snapshot: while a finished turn is unsaved, any
   * commit (a checkpoint, a resume, the final one) carries its result and
   * the deletion of its inbox entry, so the snapshot never says the message
   * was processed while its entry stays in the inbox. A message given up
   * moves to the dead-letter list in that same write: never in both the
   * inbox and the list, never in neither.
   */
  private async commit(state: AgentState): Promise<void> {
    const finished = this.unsaved;
    const messageId = state.turn?.messageId ?? finished?.result.messageId;
    if (messageId) messageTiming.mark(messageId, "commit");
    const opts = finished ? { processedSeq: finished.seq, results: [finished.result], ...(finished.deadLetter ? { deadLetter: finished.deadLetter } : {}) } : {};
    await this.deps.store.commit(this.id, this.epoch, state, { ...opts, log: this.storedLog });
    if (messageId) messageTiming.mark(messageId, "committed");
    if (state === this.state) this.dirty = false;
    if (finished && this.unsaved === finished) this.completed(finished);
  }

  private completed(finished: NonNullable<Activation["unsaved"]>): void {
    this.unsaved = undefined;
    this.queue.complete(finished.seq);
    this.deps.metrics.message(this.state.type, finished.result.status);
    if (finished.deadLetter) {
      this.deps.metrics.deadLettered(this.state.type);
      const { reason, attempts } = finished.deadLetter;
      this.log.warn({ messageId: finished.result.messageId, code: reason.code, attempts }, "message dead-lettered; the queue moves on");
    }
    this.deps.metrics.turnFinished(this.state.type, (this.deps.clock.now() - finished.started) / 1000);
    this.settle(finished.result.messageId, (w) => w.resolve(finished.result));
  }

  private onTurnError(e: unknown): void {
    if (this.abort.signal.aborted) return;
    if (e instanceof StaleEpochError) {
      // A newer activation owns the agent: this one must never write again.
      this.log.warn({ err: e.message }, "fenced by a newer activation; dropping it");
      this.fence(new AgentNotHereError(this.id, this.deps.hostId));
      return;
    }
    // The store failed (Redis down?): keep the in-memory progress and retry
    // the turn from it; runTurn resumes after the last completed step.
    this.log.error({ err: errorMessage(e) }, "turn could not be made durable; retrying");
    this.retryTimer?.cancel();
    this.retryTimer = this.deps.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.phase !== "stopped") this.actor.tell({ kind: "turn" });
    }, COMMIT_RETRY_MS);
  }

  /**
   * Applies `change` to the state and commits it; if the commit fails the
   * change is undone, so the caller may simply retry (a retried decision
   * finds its call still waiting, not a 404 for a half-applied one).
   */
  private async commitChange(change: (s: AgentState) => AgentState): Promise<void> {
    const before = this.state;
    const after = change(before);
    this.state = after;
    this.dirty = true;
    try {
      await this.commit(after);
    } catch (e) {
      if (this.state === after) this.state = before;
      throw e;
    }
  }

  private async onDecide(m: Extract<ActorMessage, { kind: "decide" }>): Promise<void> {
    try {
      const turn = this.state.turn;
      const request = turn?.awaiting.find((a) => a.callId === m.callId);
      if (!turn || !request) throw new NotFoundError(`agent ${this.id} has no tool call ${m.callId} waiting for approval`, { field: "callId" });
      const decision = { approve: m.approve, by: m.by, at: this.deps.clock.now(), ...(m.reason !== undefined ? { reason: m.reason } : {}) };
      const awaiting = turn.awaiting.filter((a) => a.callId !== m.callId);
      await this.commitChange((s) => ({
        ...s,
        status: awaiting.length ? "awaiting_approval" : "running",
        turn: { ...turn, awaiting, decisions: { ...turn.decisions, [m.callId]: decision } },
        updatedAt: this.deps.clock.now(),
      }));
      await this.deps.approvals.remove(this.id, m.callId).catch((e) => this.log.warn({ err: errorMessage(e) }, "approval index not updated"));
      this.log.info({ callId: m.callId, tool: request.tool, approve: m.approve, by: m.by }, "tool call decided");
      this.emit({ kind: "approval_decided", callId: m.callId, approve: m.approve, by: m.by, ...(m.reason !== undefined ? { reason: m.reason } : {}) }, this.state.turns + 1, turn.messageId);
      this.watchApprovals();
      if (awaiting.length === 0) this.actor.tell({ kind: "turn" });
      m.done();
    } catch (e) {
      if (e instanceof StaleEpochError) this.onTurnError(e);
      m.done(e);
    }
  }

  private async onResume(done: (error?: unknown) => void): Promise<void> {
    try {
      if (this.state.status !== "suspended") throw new WrongStateError(`agent ${this.id} is not suspended (status ${this.state.status})`);
      await this.commitChange((s) => ({ ...s, status: "idle", suspension: null, updatedAt: this.deps.clock.now() }));
      this.log.info({}, "resumed by an operator");
      this.emit({ kind: "status", status: "idle", reason: "resumed by an operator" }, this.state.turns);
      this.actor.tell({ kind: "turn" });
      done();
    } catch (e) {
      if (e instanceof StaleEpochError) this.onTurnError(e);
      done(e);
    }
  }

  /**
   * Keeps the approval index in step with the turn's waiting calls and arms
   * a timer that denies the earliest one when its deadline passes.
   */
  private watchApprovals(): void {
    this.approvalTimer?.cancel();
    this.approvalTimer = undefined;
    const awaiting = this.state.turn?.awaiting ?? [];
    if (awaiting.length === 0 || this.phase === "stopped") return;
    for (const a of awaiting) {
      this.deps.approvals.add({ ...a, agent: this.id }).catch((e) => this.log.warn({ err: errorMessage(e) }, "approval index not updated"));
    }
    const next = awaiting.reduce((x, y) => (y.deadline < x.deadline ? y : x));
    this.approvalTimer = this.deps.clock.setTimeout(() => {
      this.approvalTimer = undefined;
      this.decide(next.callId, false, "no decision before the approval deadline", "timeout").catch(() => {
        // Not stored (Redis refused it?): the call still waits; try again shortly.
        if (this.phase === "stopped" || this.approvalTimer) return;
        this.approvalTimer = this.deps.clock.setTimeout(() => this.watchApprovals(), COMMIT_RETRY_MS);
      });
    }, Math.max(0, next.deadline - this.deps.clock.now()));
  }

  private emit(event: AgentEvent, turn: number, messageId?: string, trace?: TraceIds): void {
    if (messageId && (event.kind === "model_response" || event.kind === "tool_result")) messageTiming.mark(messageId, event.kind);
    const sink = this.deps.onEvent;
    if (!sink) return;
    try {
      sink({ agent: this.id, at: this.deps.clock.now(), turn, host: this.deps.hostId, ...(messageId ? { messageId } : {}), ...traceFields(trace), event });
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, "an event listener failed");
    }
  }

  /** Ends at once without writing (fenced or deleted); waiters get `error`. */
  fence(error: Error): void {
    if (this.phase === "stopped") return;
    this.abort.abort(error);
    this.phase = "stopped";
    this.dirty = false;
    this.retryTimer?.cancel();
    this.approvalTimer?.cancel();
    this.actor.stop();
    for (const id of this.waiters.keys()) this.settle(id, (w) => w.reject(error));
    for (const done of [...this.requests]) done(error);
    if (this.state.turn?.awaiting.length) forgetApprovalsIfDeleted(this.id, this.deps).catch((e) => this.log.warn({ err: errorMessage(e) }, "approval index not cleaned"));
    this.deps.onStopped?.(this, { fenced: true, pending: this.queue.length });
  }

  private async finalize(done: () => void): Promise<void> {
    try {
      // A finished turn is saved even after the drain deadline aborted: its model and tools ran.
      if (this.phase !== "stopped" && ((this.dirty && !this.abort.signal.aborted) || this.unsaved)) await this.commit(this.state);
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, "final checkpoint failed; the last durable checkpoint stands");
    }
    if (this.phase !== "stopped") {
      this.phase = "stopped";
      this.retryTimer?.cancel();
      this.approvalTimer?.cancel();
      this.actor.stop();
      const leftover = new AgentNotHereError(this.id, this.deps.hostId);
      for (const id of this.waiters.keys()) this.settle(id, (w) => w.reject(leftover));
      for (const other of [...this.requests]) if (other !== done) other(leftover);
      this.deps.metrics.passivated(this.state.type);
      this.log.debug({ pending: this.queue.length }, "stopped");
      this.deps.onStopped?.(this, { fenced: false, pending: this.queue.length });
    }
    done();
  }

  private settle(messageId: string, fn: (w: Waiter) => void): void {
    const list = this.waiters.get(messageId);
    if (!list) return;
    this.waiters.delete(messageId);
    for (const w of list) fn(w);
  }
}

/** Where a turn sits in its trace (from its message's traceparent), as its events carry it. */
interface TraceIds {
  traceId: string | undefined;
  spanId: string | undefined;
  parentSpanId: string | undefined;
}

function traceFields(t: TraceIds | undefined): { traceId?: string; spanId?: string; parentSpanId?: string } {
  if (!t?.traceId) return {};
  return { traceId: t.traceId, ...(t.spanId ? { spanId: t.spanId } : {}), ...(t.parentSpanId ? { parentSpanId: t.parentSpanId } : {}) };
}
