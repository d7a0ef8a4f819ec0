import { sleep } from "../clock.ts";
import { DEFAULT_DEAD_LETTER_AFTER_FAILURES, DEFAULT_DEAD_LETTER_RETRY_DELAY_MS } from "../config/agent-config.ts";
import { errorMessage } from "../errors.ts";
import type { ContentBlock, ToolUseBlock } from "../model/messages.ts";
import { addUsage, textOf } from "../model/messages.ts";
import type { ModelEvent, ModelResponse } from "../model/provider.ts";
import { appendMessages } from "./conversation.ts";
import type { AgentEvent } from "./events.ts";
import { preview } from "./events.ts";
import { responseTokens, turnTokensPassed } from "./limits.ts";
import { repeatedCall } from "./loop-detection.ts";
import type { AgentState, InFlightTurn } from "./state.ts";
import type { TurnDeps, TurnOutcome } from "./turn-deps.ts";
import { deadLetter, finish, suspend, withNotRun } from "./turn-end.ts";
import type { TurnRun } from "./turn-run.ts";

/** Upper bound on tokens the model may write in one response. */
export const DEFAULT_MAX_RESPONSE_TOKENS = 4096;

/** Longest wait between two attempts of a failing turn. */
const MAX_RETRY_DELAY_MS = 60_000;

/**
 * The model speaks next: one model call, its response added to the
 * transcript. Returns how the turn ends, or null for the next step of the
 * loop (after a wait when the model is switched off or the call failed).
 */
export async function modelStep(run: TurnRun): Promise<TurnOutcome | null> {
  const { deps, emit } = run;
  const turn = run.state.turn!;
  if (run.state.status !== "running") run.update({ ...run.state, status: "running" });

  // The host's model is switched off (its circuit is open: the API keeps
  // failing for everyone). Not this message's fault: wait, uncounted.
  const availability = deps.model.availability?.();
  if (availability && !availability.available) {
    await pause(Math.min(MAX_RETRY_DELAY_MS, Math.max(50, availability.retryAfterMs)), deps);
    return null;
  }
  emit({ kind: "model_request", iteration: turn.iterations + 1, model: run.state.config.model, provider: deps.model.name, messages: run.state.messages.length });
  const calledAt = deps.clock.now();
  const response = await callModel(run.state, deps, emit);
  const durationMs = deps.clock.now() - calledAt;
  if (!response.ok) return modelFailed(run, response.error, durationMs);
  emit({
    kind: "model_response",
    iteration: turn.iterations + 1,
    stopReason: response.value.stopReason,
    text: preview(textOf(response.value.content)),
    toolCalls: response.value.content.flatMap((b) => (b.type === "tool_use" ? [{ id: b.id, name: b.name }] : [])),
    usage: response.value.usage,
    durationMs,
  });
  return modelAnswered(run, response.value);
}

/**
 * The provider has retried already: this attempt of the turn failed.
 * Counted and checkpointed (a host dying now neither loses nor adds a
 * failure), then retried after a back-off, until the message is given up.
 */
async function modelFailed(run: TurnRun, error: string, durationMs: number): Promise<TurnOutcome | null> {
  const { deps, state } = run;
  const turn = state.turn!;
  run.emit({ kind: "model_error", iteration: turn.iterations + 1, error, durationMs });
  const failures = (turn.failures ?? 0) + 1;
  const policy = deadLetterPolicy(state);
  const reason = { code: "model_failed", message: error };
  if (failures >= policy.afterFailures) return deadLetter(state, deps, run.pending, reason, failures);
  run.update({ ...state, turn: { ...turn, failures, firstFailedAt: turn.firstFailedAt ?? deps.clock.now() } });
  await deps.checkpoint(run.state);
  await pause(Math.min(MAX_RETRY_DELAY_MS, policy.retryDelayMs * 2 ** (failures - 1)), deps);
  return null;
}

/** Adds the model's response to the transcript; ends the turn on a token limit or a loop, checkpoints when it asks for tools. */
async function modelAnswered(run: TurnRun, response: ModelResponse): Promise<TurnOutcome | null> {
  const { deps, state } = run;
  const turn = state.turn!;
  const content: ContentBlock[] = response.content.length > 0 ? response.content : [{ type: "text", text: "" }];
  const usage = response.usage;
  // A model call that succeeds ends the run of failures ("in a row").
  const ok = "failures" in turn || "firstFailedAt" in turn ? withoutFailures(turn) : turn;
  run.update({
    ...state,
    messages: appendMessages(state.messages, [{ role: "assistant", content }], deps.ownsConversation),
    usage: addUsage(state.usage, usage),
    turn: { ...ok, iterations: turn.iterations + 1, usage: addUsage(turn.usage, usage) },
  });
  const asked = content.filter((b): b is ToolUseBlock => b.type === "tool_use");
  const over = turnTokensPassed(run.state);
  if (over) return finish(withNotRun(run.state, asked, over.message), deps, { status: "failed", reply: `Turn stopped: ${over.message}`, code: over.code });
  if (asked.length === 0) return null; // the final answer: made durable by the turn's commit
  const loop = repeatedCall(run.state);
  if (loop) return suspend(run.state, deps, asked, loop);
  await deps.checkpoint(run.state);
  return null;
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
        // Read when the model asks for it: the activation makes its signal only then.
        get signal() {
          return deps.signal;
        },
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

/** The turn without its run of failures (an object rest, only when there is a run to drop). */
function withoutFailures(turn: InFlightTurn): InFlightTurn {
  const { failures: _f, firstFailedAt: _ff, ...ok } = turn;
  return ok;
}

function deadLetterPolicy(state: AgentState): { afterFailures: number; retryDelayMs: number } {
  return state.config.deadLetter ?? { afterFailures: DEFAULT_DEAD_LETTER_AFTER_FAILURES, retryDelayMs: DEFAULT_DEAD_LETTER_RETRY_DELAY_MS };
}

/** Waits between two attempts of a failing turn; an abort (drain deadline, fence) ends the wait and the turn. */
function pause(ms: number, deps: TurnDeps): Promise<void> {
  return sleep(ms, { clock: deps.clock, ...(deps.signal ? { signal: deps.signal } : {}) });
}
