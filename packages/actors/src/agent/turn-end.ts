import type { ChatMessage, ToolResultBlock, ToolUseBlock } from "../model/messages.ts";
import { appendMessages } from "./conversation.ts";
import { preview } from "./events.ts";
import type { AgentState, DeadLetter, PendingMessage, TurnResult } from "./state.ts";
import { MAX_ESCALATIONS } from "./tool-batch.ts";
import type { TurnDeps, TurnOutcome } from "./turn-deps.ts";

/*
 * How a turn ends: completed or failed (finish), given up to the dead-letter
 * list (deadLetter), or with the agent's circuit open (suspend).
 */

/** Answers tool calls that will not run, so the transcript stays valid for the next turn. */
export function withNotRun(state: AgentState, asked: ToolUseBlock[], why: string): AgentState {
  if (asked.length === 0) return state;
  const notRun: ChatMessage = {
    role: "user",
    content: asked.map((u): ToolResultBlock => ({ type: "tool_result", toolUseId: u.id, content: `not run: ${why}`, isError: true })),
  };
  return { ...state, messages: [...state.messages, notRun] };
}

/**
 * Opens the agent's circuit: the looping calls are not run (their results
 * say why, keeping the transcript valid), the turn ends, the agent is
 * suspended until an operator resumes it, and a person is told.
 */
export function suspend(state: AgentState, deps: TurnDeps, asked: ToolUseBlock[], loop: { tool: string; times: number }): TurnOutcome {
  const now = deps.clock.now();
  const reason = `the agent called ${loop.tool} ${loop.times} times with the same arguments in one turn; its circuit is open until an operator resumes it`;
  const notRun: ChatMessage = {
    role: "user",
    content: asked.map((u): ToolResultBlock => ({ type: "tool_result", toolUseId: u.id, content: `not run: ${reason}`, isError: true })),
  };
  deps.metrics.circuitBreakerTripped(state.type);
  deps.metrics.escalated(state.type);
  deps.emit?.({ kind: "escalation", code: "loop_detected", reason });
  deps.emit?.({ kind: "status", status: "suspended", reason });
  const done = finish({ ...state, messages: [...state.messages, notRun] }, deps, { status: "failed", reply: `Agent suspended: ${reason}.`, code: "loop_detected" });
  if (done.kind !== "done") return done;
  const escalation = { code: "loop_detected", reason, at: now };
  return {
    ...done,
    state: {
      ...done.state,
      status: "suspended",
      suspension: { code: "loop_detected", reason, at: now },
      escalations: [...done.state.escalations, escalation].slice(-MAX_ESCALATIONS),
    },
  };
}

/**
 * Gives the message up: the turn ends failed (its waiters are told it was
 * dead-lettered and where) and the activation moves the message to the
 * dead-letter list in the same atomic commit that removes it from the inbox.
 */
export function deadLetter(state: AgentState, deps: TurnDeps, pending: PendingMessage, reason: { code: string; message: string }, attempts = (state.turn!.failures ?? 0) + 1): TurnOutcome {
  const now = deps.clock.now();
  const id = pending.message.messageId;
  const entry: DeadLetter = {
    id,
    message: pending.message,
    seq: pending.seq,
    reason,
    attempts,
    firstFailedAt: state.turn!.firstFailedAt ?? now,
    deadLetteredAt: now,
  };
  const times = attempts === 1 ? "1 attempt" : `${attempts} attempts in a row`;
  const reply = `Message dead-lettered after ${times} (${reason.code}: ${reason.message.replace(/\.$/, "")}). Replay it with POST /v1/agents/${state.id}/dead-letters/${id}/replay.`;
  deps.emit?.({ kind: "dead_lettered", id, code: reason.code, message: preview(reason.message), attempts });
  // The error keeps the cause's code (what a caller acts on: model_failed,
  // token_budget_exhausted, ...); `deadLetter` says where the message went.
  const done = finish(state, deps, { status: "failed", reply, code: reason.code });
  if (done.kind !== "done") return done;
  done.result.deadLetter = { id, reason, attempts };
  return { ...done, deadLetter: entry };
}

/** Ends the turn: the agent goes idle with `end` as the message's result (a failure's reply is added to the transcript). */
export function finish(state: AgentState, deps: TurnDeps, end: { status: TurnResult["status"]; reply: string; code?: string }): TurnOutcome {
  const turn = state.turn!;
  const now = deps.clock.now();
  const messages: ChatMessage[] =
    end.status === "completed" ? state.messages : appendMessages(state.messages, [{ role: "assistant", content: [{ type: "text", text: end.reply }] }], deps.ownsConversation);
  const next: AgentState = {
    ...state,
    messages,
    status: "idle",
    turn: null,
    turns: state.turns + 1,
    // Only grows: an entry queued late (its append's reply was lost) may run after a later one.
    lastSeq: Math.max(state.lastSeq, turn.seq),
    updatedAt: now,
    lastError: end.code ? { messageId: turn.messageId, code: end.code, message: end.reply, at: now } : state.lastError,
  };
  const result: TurnResult = { messageId: turn.messageId, status: end.status, reply: end.reply, usage: turn.usage };
  if (end.code) result.error = { code: end.code, message: end.reply };
  deps.emit?.({ kind: "turn_finished", status: end.status, reply: preview(end.reply), usage: turn.usage, ...(result.error ? { error: result.error } : {}) });
  return { kind: "done", state: next, result };
}
