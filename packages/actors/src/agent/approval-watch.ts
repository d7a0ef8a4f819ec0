import type { Clock, TimerHandle } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import type { AgentId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import type { AgentStore } from "../store/agent-store.ts";
import type { ApprovalIndex } from "../store/approval-index.ts";
import { forgetApprovalsIfDeleted } from "../store/approval-index.ts";
import type { AgentState, ApprovalRequest } from "./state.ts";

export interface ApprovalWatchDeps {
  agent: AgentId;
  /** The activation's shared dependencies (one object for all of them: nothing is copied per agent). */
  deps: { approvals: ApprovalIndex; store: AgentStore; clock: Clock };
  log: Logger;
  /** Back-off before arming the deadline again when a denial could not be stored. */
  retryMs: number;
  /** The context: its turn's waiting calls are the ones watched. */
  hot: { readonly current: AgentState };
  /** Whether the activation has ended: nothing is armed then. */
  lifecycle: { readonly ended: boolean };
  /** Denies a call through the activation's own decision path; rejects if it was not stored. */
  decider: { decide(callId: string, approve: boolean, reason: string, by: string): Promise<void> };
}

/**
 * The approval side of an activation: keeps the approval index (every
 * host's view of the calls waiting for a person) in step with its turn's
 * waiting calls, and denies the earliest one when its deadline passes.
 */
export class ApprovalWatch {
  private timer: TimerHandle | undefined;

  constructor(private readonly parts: ApprovalWatchDeps) {}

  private awaiting(): readonly ApprovalRequest[] {
    return this.parts.hot.current.turn?.awaiting ?? [];
  }

  private ended(): boolean {
    return this.parts.lifecycle.ended;
  }

  /** Lists the waiting calls in the index and arms the timer of the earliest deadline. */
  sync(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const { deps, agent, log, retryMs } = this.parts;
    const awaiting = this.awaiting();
    if (awaiting.length === 0 || this.ended()) return;
    for (const a of awaiting) {
      deps.approvals.add({ ...a, agent }).catch((e) => log.warn({ err: errorMessage(e) }, "approval index not updated"));
    }
    const next = awaiting.reduce((x, y) => (y.deadline < x.deadline ? y : x));
    this.timer = deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.parts.decider.decide(next.callId, false, "no decision before the approval deadline", "timeout").catch(() => {
        // Not stored (Redis refused it?): the call still waits; try again shortly.
        if (this.ended() || this.timer) return;
        this.timer = deps.clock.setTimeout(() => this.sync(), retryMs);
      });
    }, Math.max(0, next.deadline - deps.clock.now()));
  }

  /** Takes a decided call out of the index; a failure is logged, not thrown (the snapshot is the truth). */
  async decided(callId: string): Promise<void> {
    const { deps, agent, log } = this.parts;
    await deps.approvals.remove(agent, callId).catch((e) => log.warn({ err: errorMessage(e) }, "approval index not updated"));
  }

  /** Disarms the deadline timer (the activation ended). */
  stop(): void {
    this.timer?.cancel();
  }

  /** After a fence: if the agent was deleted, its waiting calls leave the index (see forgetApprovalsIfDeleted). */
  forgetIfDeleted(): void {
    if (this.awaiting().length === 0) return;
    const { deps, agent, log } = this.parts;
    forgetApprovalsIfDeleted(agent, deps).catch((e) => log.warn({ err: errorMessage(e) }, "approval index not cleaned"));
  }
}
