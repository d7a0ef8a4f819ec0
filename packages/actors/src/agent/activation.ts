import type { Clock } from "../clock.ts";
import { AgentNotHereError, NotFoundError, StaleEpochError, errorMessage } from "../errors.ts";
import type { ActivationId, AgentId, HostId } from "../ids.ts";
import { newActivationId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import type { ActivationReason, AgentMetrics } from "../metrics.ts";
import type { ModelProvider } from "../model/provider.ts";
import type { ActorRef, ActorRuntime } from "../runtime/actor-runtime.ts";
import type { AgentStore, LogCursor } from "../store/agent-store.ts";
import type { ApprovalIndex } from "../store/approval-index.ts";
import type { AgentEventRecord } from "./events.ts";
import type { ToolRegistry } from "../tools/registry.ts";
import type { AgentState, InboxMessage, PendingMessage, TurnResult } from "./state.ts";
import { InboxQueue } from "./inbox-queue.ts";
import { Lifecycle, acceptsMessages } from "./lifecycle.ts";
import type { Answer, PauseListener } from "./waiters.ts";
import { OpenRequests, ResultWaiters } from "./waiters.ts";
import { ApprovalWatch } from "./approval-watch.ts";
import { HotState } from "./hot-state.ts";
import { EventSink } from "./event-sink.ts";
import { BoundLogger } from "./bound-logger.ts";
import { TurnAbort } from "./turn-abort.ts";
import { LoopParts } from "./loop-parts.ts";
import type { Decision } from "./turn-loop.ts";
import { COMMIT_RETRY_MS, TurnLoop } from "./turn-loop.ts";

export { COMMIT_RETRY_MS } from "./turn-loop.ts";

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

/**
 * How an activation ends: `stopped` after its final checkpoint (its waiters
 * learn the agent is not here any more), or `fenced` at once, without
 * writing, its waiters getting `error` (a newer activation owns the agent,
 * or the agent was deleted).
 */
export type Ending = { kind: "stopped" } | { kind: "fenced"; error: Error };

type ActorMessage =
  | { kind: "turn" }
  | { kind: "stop"; done: Answer }
  | ({ kind: "decide"; done: Answer } & Decision)
  | { kind: "resume"; done: Answer };

/**
 * One life of an agent on this host: its hot context, its queue of accepted
 * messages, and the nact actor that runs their turns one at a time, in
 * acceptance order. Acceptance (the durable append) happens outside the
 * actor, so it never waits for a running turn; so does reading the state.
 * Its phases are those of `Lifecycle` (lifecycle.ts); `end` is the one way out.
 */
export class Activation {
  readonly activationId: ActivationId = newActivationId();
  private readonly hot: HotState;
  private readonly queue: InboxQueue;
  private readonly waiters = new ResultWaiters();
  private readonly requests = new OpenRequests();
  private readonly lifecycle = new Lifecycle([this.waiters, this.requests]);
  private readonly approvals: ApprovalWatch;
  private readonly loop: TurnLoop;
  private readonly actor: ActorRef<ActorMessage>;
  /** Aborted by a fence or a passed drain deadline: the running turn stops at its last checkpoint. */
  private readonly abort = new TurnAbort();
  private readonly log: Logger;
  private inflightAccepts = 0;
  private acceptsSettled: (() => void) | undefined;
  private readonly parts: LoopParts;
  private stopped: Promise<void> | undefined;

  private constructor(
    readonly id: AgentId,
    readonly epoch: number,
    loaded: { state: AgentState; pending: PendingMessage[]; log: LogCursor },
    private readonly deps: ActivationDeps,
  ) {
    this.hot = new HotState(id, epoch, loaded, deps.store, (finished) => this.loop.completed(finished));
    // The inbox holds exactly the entries not processed yet (commits delete
    // each processed one atomically with the snapshot that records it).
    this.queue = new InboxQueue(loaded.pending);
    this.log = new BoundLogger(deps.logger, this);
    const { hot, queue, waiters, log, lifecycle, abort } = this;
    this.approvals = new ApprovalWatch({ agent: id, deps, log, retryMs: COMMIT_RETRY_MS, hot, lifecycle, decider: this });
    const events = new EventSink(id, deps, log);
    this.parts = new LoopParts({ id, deps, hot, queue, waiters, approvals: this.approvals, events, log, lifecycle }, abort, this);
    this.loop = new TurnLoop(this.parts);
    // nact names allow URL-safe characters only; "." never occurs in an id.
    this.actor = deps.runtime.spawn<ActorMessage>(`${id.replace("/", ".")}.${this.activationId}`, (m) => this.handle(m), (e) => {
      this.log.error({ err: errorMessage(e) }, "agent actor crashed; resuming");
    });
    this.parts.actor = this.actor;
  }

  /**
   * Loads the agent at `epoch` (already claimed: the fence now rejects every
   * older activation) and starts its actor; pending messages run at once.
   * Returns null if the agent does not exist. `reason` is a hint: a restore
   * of an agent that never ran counts as "new".
   */
  static async start(id: AgentId, epoch: number, reason: ActivationReason, deps: ActivationDeps): Promise<Activation | null> {
    const loaded = await deps.store.load(id, epoch);
    if (!loaded) return null;
    if (loaded.epoch !== epoch) throw new StaleEpochError(id, epoch, loaded.epoch);
    const activation = new Activation(id, epoch, loaded, deps);
    const fresh = loaded.state.turns === 0 && loaded.state.messages.length === 0;
    deps.metrics.activated(loaded.state.type, reason === "failover" ? reason : fresh ? "new" : "restore");
    activation.log.debug({ reason, pending: activation.queue.length }, "activated");
    activation.actor.tell({ kind: "turn" });
    activation.approvals.sync();
    return activation;
  }

  /** The current context; never waits for a running turn. */
  view(): AgentState {
    return this.hot.current;
  }

  /** Whether it takes new messages (neither deactivating nor ended). */
  get active(): boolean {
    return acceptsMessages(this.lifecycle.phase);
  }

  /** Accepted messages not yet done, including a running one. */
  pendingCount(): number {
    return this.queue.length;
  }

  /** When the agent last did or accepted anything; null while it has work. */
  idleSince(): number | null {
    // An agent waiting for a person stays active: it owns the approval's timeout.
    if (this.hot.current.turn?.awaiting.length) return null;
    if (this.loop.running || this.queue.length > 0 || this.inflightAccepts > 0) return null;
    return this.parts.lastActive;
  }

  /**
   * Appends the message to the durable inbox, then queues its turn. Resolves
   * only once the message is stored: that is the acknowledgement.
   */
  async accept(message: InboxMessage): Promise<AcceptOutcome> {
    if (!this.active) throw new AgentNotHereError(this.id, this.deps.hostId);
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
      this.parts.touch();
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
    if (same && seq > this.hot.current.lastSeq) return this.enqueue(seq, same);
    const stored = await this.deps.store.inboxMessage(this.id, seq);
    if (stored && !this.lifecycle.ended) this.enqueue(seq, stored);
  }

  private enqueue(seq: number, message: InboxMessage): void {
    // Appends resolve in inbox order on one connection; the queue keeps seq order even if not.
    if (this.queue.add(seq, message)) this.actor.tell({ kind: "turn" });
  }

  /**
   * The result of a message: at once if its turn is done (read from the
   * store), else when the turn completes. Null if this agent never had it.
   * Refused (AgentNotHereError) for a queued message once the activation has ended.
   */
  async result(messageId: string): Promise<TurnResult | null> {
    if (this.queue.hasMessage(messageId)) {
      // An ended activation settles no more waiters: ask where the agent lives now.
      if (this.lifecycle.ended) throw new AgentNotHereError(this.id, this.deps.hostId);
      return this.waiters.wait(messageId);
    }
    return this.deps.store.result(this.id, messageId);
  }

  /**
   * Calls `listener` with the waiting call ids once the turn of `messageId`
   * pauses for approval (at once if it is paused now). Returns the unsubscribe.
   */
  onPause(messageId: string, listener: PauseListener): () => void {
    const turn = this.hot.current.turn;
    if (turn?.messageId === messageId && turn.awaiting.length) {
      listener(turn.awaiting.map((a) => a.callId));
      return () => {};
    }
    return this.waiters.onPause(messageId, listener);
  }

  /**
   * Ends this activation after its accepted messages have run or, with
   * `handoff`, after the running turn only: the rest stay in the durable
   * inbox for the next activation, wherever it is. With `abortAfterMs`, a
   * turn still running then stops at its last checkpoint.
   */
  stop(opts: { abortAfterMs?: number; handoff?: boolean } = {}): Promise<void> {
    if (this.stopped) return this.stopped;
    if (!this.lifecycle.deactivate(opts.handoff ?? false)) return Promise.resolve();
    this.stopped = (async () => {
      if (this.inflightAccepts > 0) await new Promise<void>((r) => (this.acceptsSettled = r));
      const deadline = opts.abortAfterMs === undefined ? undefined : this.deps.clock.setTimeout(() => this.abort.abort(new Error("drain deadline passed")), opts.abortAfterMs);
      // Settled with an error if the actor ends (fenced) before it gets here: stopped either way.
      await this.ask((done) => ({ kind: "stop", done })).catch(() => undefined);
      deadline?.cancel();
    })();
    return this.stopped;
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

  /** Hands a request to the actor. Its promise always settles: `end` answers every request still open. */
  private ask(build: (done: Answer) => ActorMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.lifecycle.ended) return reject(new AgentNotHereError(this.id, this.deps.hostId));
      this.actor.tell(build(this.requests.add(resolve, reject)));
    });
  }

  private async handle(m: ActorMessage): Promise<void> {
    if (m.kind === "stop") return this.onStop(m.done);
    try {
      if (m.kind === "decide") return await this.loop.decide(m);
      if (m.kind === "resume") return await this.loop.resume(m.done);
      return await this.loop.drain();
    } finally {
      if (!this.loop.running) this.abort.idle();
    }
  }

  /** The actor's last message: the final checkpoint (unless fenced meanwhile), then the end. */
  private async onStop(done: Answer): Promise<void> {
    await this.loop.finalCheckpoint();
    // Answered first: the end rejects every request still open.
    done();
    this.end({ kind: "stopped" });
  }

  /** Ends at once without writing (fenced or deleted); waiters get `error`. */
  fence(error: Error): void {
    this.end({ kind: "fenced", error });
  }

  /**
   * The one way an activation ends, from any live phase, at most once: the
   * running turn is aborted if fenced, timers and the actor stop, every
   * waiter and open request is settled, and `onStopped` hears of it.
   */
  private end(how: Ending): void {
    if (this.lifecycle.ended) return;
    const fenced = how.kind === "fenced";
    if (fenced) this.abort.abort(how.error);
    this.lifecycle.end(fenced ? how.error : new AgentNotHereError(this.id, this.deps.hostId));
    this.loop.stop();
    this.approvals.stop();
    this.actor.stop();
    if (fenced) this.approvals.forgetIfDeleted();
    else {
      this.deps.metrics.passivated(this.hot.current.type);
      this.log.debug({ pending: this.queue.length }, "stopped");
    }
    this.deps.onStopped?.(this, { fenced, pending: this.queue.length });
  }
}
