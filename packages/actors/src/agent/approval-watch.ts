import type { Clock, TimerHandle } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import type { AgentId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import type { AgentStore } from "../store/agent-store.ts";
import type { ApprovalIndex } from "../store/approval-index.ts";
import { forgetApprovalsIfDeleted } from "../store/approval-index.ts";
import type { ApprovalRequest } from "./state.ts";

export interface ApprovalWatchDeps {
  agent: AgentId;
  approvals: ApprovalIndex;
  store: AgentStore;
  clock: Clock;
  log: Logger;
  /** Back-off before arming the deadline again when a denial could not be stored. */
  retryMs: number;
  /** The tool calls the agent's turn waits on now. */
  awaiting(): readonly ApprovalRequest[];
  /** Denies a call (the activation's own decision path); rejects if it was not stored. */
  deny(callId: string, reason: string): Promise<void>;
  /** Whether the activation has ended: nothing is armed then. */
  ended(): boolean;
}

/**
 * The approval side of an activation: keeps the approval index (every
 * host's view of the calls waiting for a person) in step with its turn's
 * waiting calls, and denies the earliest one when its deadline passes.
 */
export class ApprovalWatch {
  private timer: TimerHandle | undefined;

  constructor(private readonly deps: ApprovalWatchDeps) {}

  /** Lists the waiting calls in the index and arms the timer of the earliest deadline. */
  sync(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const awaiting = this.deps.awaiting();
    if (awaiting.length === 0 || this.deps.ended()) return;
    for (const a of awaiting) {
      this.deps.approvals.add({ ...a, agent: this.deps.agent }).catch((e) => this.deps.log.warn({ err: errorMessage(e) }, "approval index not updated"));
    }
    const next = awaiting.reduce((x, y) => (y.deadline < x.deadline ? y : x));
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.deps.deny(next.callId, "no decision before the approval deadline").catch(() => {
        // Not stored (Redis refused it?): the call still waits; try again shortly.
        if (this.deps.ended() || this.timer) return;
        this.timer = this.deps.clock.setTimeout(() => this.sync(), this.deps.retryMs);
      });
    }, Math.max(0, next.deadline - this.deps.clock.now()));
  }

  /** Takes a decided call out of the index; a failure is logged, not thrown (the snapshot is the truth). */
  async decided(callId: string): Promise<void> {
    await this.deps.approvals.remove(this.deps.agent, callId).catch((e) => this.deps.log.warn({ err: errorMessage(e) }, "approval index not updated"));
  }

  /** Disarms the deadline timer (the activation ended). */
  stop(): void {
    this.timer?.cancel();
  }

  /** After a fence: if the agent was deleted, its waiting calls leave the index (see forgetApprovalsIfDeleted). */
  forgetIfDeleted(): void {
    if (this.deps.awaiting().length === 0) return;
    forgetApprovalsIfDeleted(this.deps.agent, this.deps).catch((e) => this.deps.log.warn({ err: errorMessage(e) }, "approval index not cleaned"));
  }
}
