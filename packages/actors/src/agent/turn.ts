import type { Clock } from "../clock.ts";
import { sleep } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import type { AgentMetrics } from "../metrics.ts";
import type { ChatMessage, ContentBlock, ToolResultBlock, ToolUseBlock } from "../model/messages.ts";
import { addUsage, textOf, zeroUsage } from "../model/messages.ts";
import type { ModelEvent, ModelProvider, ModelResponse } from "../model/provider.ts";
import type { ToolRegistry } from "../tools/registry.ts";
import { DEFAULT_COMPACTION, compact, estimateTokens } from "./compaction.ts";
import type { AgentEvent } from "./events.ts";
import { preview } from "./events.ts";
import { MAX_ESCALATIONS, callTier, runToolBatch } from "./tool-batch.ts";
import { responseTokens, turnTokensPassed } from "./limits.ts";
import { nextStep } from "./next-step.ts";
import type { AgentState, ApprovalRequest, DeadLetter, PendingMessage, TurnResult } from "./state.ts";
import { DEFAULT_DEAD_LETTER_AFTER_FAILURES, DEFAULT_DEAD_LETTER_RETRY_DELAY_MS } from "../config/agent-config.ts";

/** Upper bound on tokens the model may write in one response. */
export const DEFAULT_MAX_RESPONSE_TOKENS = 4096;
/** The same tool with the same arguments more often than this in one turn opens the agent's circuit. */
export const MAX_IDENTICAL_TOOL_CALLS = 3;
/** A tool call waiting for approval longer than this is denied. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 60 * 60 * 1000;
export { MAX_ESCALATIONS } from "./tool-batch.ts";

export interface TurnDeps {
  model: ModelProvider;
  tools: ToolRegistry;
  clock: Clock;
  metrics: Pick<AgentMetrics, "toolCall" | "circuitBreakerTripped" | "escalated">;
  /** Makes a step durable (a fenced snapshot write); called after every model response that asks for tools and after every batch of tool results. */
  checkpoint(state: AgentState): Promise<void>;
  /** Publishes each new state so readers see progress without waiting for the turn. */
  publish(state: AgentState): void;
  /** Receives every step of the turn (the live stream and the execution trace). */
  emit?: (event: AgentEvent) => void;
  signal?: AbortSignal;
}

/**
 * A turn either ends (with a result for its message; with `deadLetter` when
 * the message is given up and moves to the dead-letter list) or pauses until
 * a person approves its tool calls.
 */
export type TurnOutcome = { kind: "done"; state: AgentState; result: TurnResult; deadLetter?: DeadLetter } | { kind: "paused"; state: AgentState };

/** Longest wait between two attempts of a failing turn. */
const MAX_RETRY_DELAY_MS = 60_000;

/**
 * Runs (or resumes) the turn for one inbox message:
 * message → model → tools (in parallel) → model … until the model stops
 * asking for tools, a limit or budget ends the turn, the agent loops (its
 * circuit opens and it is suspended), or a tool call needs a person's
 * approval (the turn pauses). Resuming picks up after the last checkpointed
 * step, so no completed model or tool call repeats.
 */
export async function runTurn(initial: AgentState, pending: PendingMessage, deps: TurnDeps): Promise<TurnOutcome> {
  const emit = deps.emit ?? (() => {});
  let state = initial;
  const { message } = pending;
  const update = (next: AgentState) => {
    state = { ...next, updatedAt: deps.clock.now() };
    deps.publish(state);
  };

  if (state.turn?.messageId !== message.messageId) {
    emit({ kind: "turn_started", content: preview(message.content) });
    emit({ kind: "status", status: "running" });
    await compactIfLarge();
    update({
      ...state,
      status: "running",
      messages: [...state.messages, { role: "user", content: [{ type: "text", text: message.content }] }],
      turn: {
        messageId: message.messageId,
        seq: pending.seq,
        startIndex: state.messages.length,
        startedAt: deps.clock.now(),
        iterations: 0,
        usage: zeroUsage(),
        awaiting: [],
        decisions: {},
      },
    });
  }

  async function compactIfLarge(): Promise<void> {
    const policy = state.config.compaction ?? DEFAULT_COMPACTION;
    if (estimateTokens(state.messages) <= policy.atTokens) return;
    try {
      const out = await compact(state.messages, { keepTurns: policy.keepTurns, model: deps.model, modelName: state.config.model, ...(deps.signal ? { signal: deps.signal } : {}) });
      if (!out) return;
      // Durable before the turn starts: a compaction is a model call, never repeated.
      emit({ kind: "compaction", messagesBefore: state.messages.length, messagesAfter: out.messages.length });
      update({ ...state, messages: out.messages, usage: addUsage(state.usage, out.usage) });
    } catch (e) {
      if (deps.signal?.aborted) throw e;
      // A failed compaction call leaves the context as it was; the turn goes on.
      return;
    }
    // Not swallowed: a stale checkpoint means a newer activation owns the
    // agent (this one must stop before its next model call); a store failure
    // is retried by the activation from the compacted state, so the
    // compaction call is not repeated.
    await deps.checkpoint(state);
  }

  for (;;) {
    const turn = state.turn!;
    const step = nextStep(state, (use) => callTier(state, deps, use));
    if (step.kind === "finish") return finish(state, deps, { status: "completed", reply: step.reply });
    if (step.kind === "stop") {
      if (step.deadLetter) return deadLetter(state, deps, pending, step.reason);
      return finish(state, deps, { status: "failed", reply: `Turn stopped: ${step.reason.message}`, code: step.reason.code });
    }
    if (step.kind === "await_approval") {
      const timeoutMs = state.config.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
      const now = deps.clock.now();
      const awaiting: ApprovalRequest[] = step.calls.map(
        ({ use: u, policy }) =>
          turn.awaiting.find((a) => a.callId === u.id) ?? { callId: u.id, tool: u.name, input: u.input, requestedAt: now, deadline: now + timeoutMs, ...(policy ? { policy } : {}) },
      );
      for (const a of awaiting) emit({ kind: "approval_requested", callId: a.callId, tool: a.tool, input: a.input, deadline: a.deadline, ...(a.policy ? { policy: a.policy } : {}) });
      emit({ kind: "status", status: "awaiting_approval" });
      update({ ...state, status: "awaiting_approval", turn: { ...turn, awaiting } });
      await deps.checkpoint(state);
      return { kind: "paused", state };
    }
    if (step.kind === "run_tools") {
      const reportChild = (id: string) => {
        if (!state.children.includes(id)) update({ ...state, children: [...state.children, id] });
      };
      const results = await runToolBatch(step.uses, message, deps, { get: () => state, update }, reportChild);
      const { toolResults: _done, ...rest } = state.turn!;
      update({ ...state, status: "running", messages: [...state.messages, { role: "user", content: results }], turn: { ...rest, awaiting: [] } });
      // A worker's spend counts against the turn too.
      const over = turnTokensPassed(state);
      if (over) return finish(state, deps, { status: "failed", reply: `Turn stopped: ${over.message}`, code: over.code });
      await deps.checkpoint(state);
      continue;
    }

    // The model speaks next.
    if (state.status !== "running") update({ ...state, status: "running" });

    // The host's model is switched off (its circuit is open: the API keeps
    // failing for everyone). Not this message's fault: wait, uncounted.
    const availability = deps.model.availability?.();
    if (availability && !availability.available) {
      await pause(Math.min(MAX_RETRY_DELAY_MS, Math.max(50, availability.retryAfterMs)), deps);
      continue;
    }
    emit({ kind: "model_request", iteration: turn.iterations + 1, model: state.config.model, provider: deps.model.name, messages: state.messages.length });
    const calledAt = deps.clock.now();
    const response = await callModel(state, deps, emit);
    const durationMs = deps.clock.now() - calledAt;
    if (!response.ok) {
      emit({ kind: "model_error", iteration: turn.iterations + 1, error: response.error, durationMs });
      // The provider has retried already: this attempt of the turn failed.
      // Counted and checkpointed (a host dying now neither loses nor adds a
      // failure), then retried after a back-off, until the message is given up.
      const failures = (turn.failures ?? 0) + 1;
      const policy = deadLetterPolicy(state);
      const reason = { code: "model_failed", message: response.error };
      if (failures >= policy.afterFailures) return deadLetter(state, deps, pending, reason, failures);
      update({ ...state, turn: { ...turn, failures, firstFailedAt: turn.firstFailedAt ?? deps.clock.now() } });
      await deps.checkpoint(state);
      await pause(Math.min(MAX_RETRY_DELAY_MS, policy.retryDelayMs * 2 ** (failures - 1)), deps);
      continue;
    }
    emit({
      kind: "model_response",
      iteration: turn.iterations + 1,
      stopReason: response.value.stopReason,
      text: preview(textOf(response.value.content)),
      toolCalls: response.value.content.flatMap((b) => (b.type === "tool_use" ? [{ id: b.id, name: b.name }] : [])),
      usage: response.value.usage,
      durationMs,
    });
    const content: ContentBlock[] = response.value.content.length > 0 ? response.value.content : [{ type: "text", text: "" }];
    const usage = response.value.usage;
    // A model call that succeeds ends the run of failures ("in a row").
    const { failures: _f, firstFailedAt: _ff, ...ok } = turn;
    update({
      ...state,
      messages: [...state.messages, { role: "assistant", content }],
      usage: addUsage(state.usage, usage),
      turn: { ...ok, iterations: turn.iterations + 1, usage: addUsage(turn.usage, usage) },
    });
    const asked = content.filter((b): b is ToolUseBlock => b.type === "tool_use");
    const over = turnTokensPassed(state);
    if (over) return finish(withNotRun(state, asked, over.message), deps, { status: "failed", reply: `Turn stopped: ${over.message}`, code: over.code });
    if (asked.length === 0) continue; // the final answer: made durable by the turn's commit
    const loop = repeatedCall(state);
    if (loop) return suspend(state, deps, asked, loop);
    await deps.checkpoint(state);
  }
}

/** Answers tool calls that will not run, so the transcript stays valid for the next turn. */
function withNotRun(state: AgentState, asked: ToolUseBlock[], why: string): AgentState {
  if (asked.length === 0) return state;
  const notRun: ChatMessage = {
    role: "user",
    content: asked.map((u): ToolResultBlock => ({ type: "tool_result", toolUseId: u.id, content: `not run: ${why}`, isError: true })),
  };
  return { ...state, messages: [...state.messages, notRun] };
}

/** Canonical JSON (sorted keys), so equal arguments compare equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The tool call repeated more than MAX_IDENTICAL_TOOL_CALLS times in this turn (the stuttering check). */
function repeatedCall(state: AgentState): { tool: string; times: number } | null {
  const counts = new Map<string, number>();
  for (const m of state.messages.slice(state.turn!.startIndex)) {
    for (const b of m.content) {
      if (b.type !== "tool_use") continue;
      const key = `${b.name}\u0000${canonical(b.input)}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n > MAX_IDENTICAL_TOOL_CALLS) return { tool: b.name, times: n };
    }
  }
  return null;
}

/**
 * Opens the agent's circuit: the looping calls are not run (their results
 * say why, keeping the transcript valid), the turn ends, the agent is
 * suspended until an operator resumes it, and a person is told.
 */
function suspend(state: AgentState, deps: TurnDeps, asked: ToolUseBlock[], loop: { tool: string; times: number }): TurnOutcome {
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
 * A model failure ends the turn with a failed result; checkpoint and abort
 * errors are not the model's and propagate to the activation.
 */
async function callModel(state: AgentState, deps: TurnDeps, emit: (e: AgentEvent) => void): Promise<{ ok: true; value: ModelResponse } | { ok: false; error: string }> {
  try {
    const value = await deps.model.complete(
      {
        model: state.config.model,
        system: state.config.systemPrompt,
        messages: state.messages,
        tools: deps.tools.specsFor(state.config.tools),
        maxTokens: responseTokens(state, DEFAULT_MAX_RESPONSE_TOKENS),
      },
      {
        ...(deps.signal ? { signal: deps.signal } : {}),
        onEvent: (e: ModelEvent) => {
          if (e.kind === "text_delta") emit({ kind: "text_delta", text: e.text });
        },
      },
    );
    return { ok: true, value };
  } catch (e) {
    if (deps.signal?.aborted) throw e;
    return { ok: false, error: errorMessage(e) };
  }
}

function deadLetterPolicy(state: AgentState): { afterFailures: number; retryDelayMs: number } {
  return state.config.deadLetter ?? { afterFailures: DEFAULT_DEAD_LETTER_AFTER_FAILURES, retryDelayMs: DEFAULT_DEAD_LETTER_RETRY_DELAY_MS };
}

/** Waits between two attempts of a failing turn; an abort (drain deadline, fence) ends the wait and the turn. */
function pause(ms: number, deps: TurnDeps): Promise<void> {
  return sleep(ms, { clock: deps.clock, ...(deps.signal ? { signal: deps.signal } : {}) });
}

/**
 * Gives the message up: the turn ends failed (its waiters are told it was
 * dead-lettered and where) and the activation moves the message to the
 * dead-letter list in the same atomic commit that removes it from the inbox.
 */
function deadLetter(state: AgentState, deps: TurnDeps, pending: PendingMessage, reason: { code: string; message: string }, attempts = (state.turn!.failures ?? 0) + 1): TurnOutcome {
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

function finish(state: AgentState, deps: TurnDeps, end: { status: TurnResult["status"]; reply: string; code?: string }): TurnOutcome {
  const turn = state.turn!;
  const now = deps.clock.now();
  const messages: ChatMessage[] =
    end.status === "completed" ? state.messages : [...state.messages, { role: "assistant", content: [{ type: "text", text: end.reply }] }];
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
