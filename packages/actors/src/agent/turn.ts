import type { Clock } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import type { ChatMessage, ContentBlock, ToolResultBlock, ToolUseBlock } from "../model/messages.ts";
import { addUsage, textOf, zeroUsage } from "../model/messages.ts";
import type { ModelEvent, ModelProvider, ModelResponse } from "../model/provider.ts";
import type { ToolRegistry } from "../tools/registry.ts";
import type { AgentState, PendingMessage, TurnResult } from "./state.ts";

/** Upper bound on tokens the model may write in one response. */
export const DEFAULT_MAX_RESPONSE_TOKENS = 4096;

export interface TurnDeps {
  model: ModelProvider;
  tools: ToolRegistry;
  clock: Clock;
  /** Makes a step durable (a fenced snapshot write); called after every model response that asks for tools and after every batch of tool results. */
  checkpoint(state: AgentState): Promise<void>;
  /** Publishes each new state so readers see progress without waiting for the turn. */
  publish(state: AgentState): void;
  onModelEvent?: (event: ModelEvent) => void;
  signal?: AbortSignal;
}

export interface TurnOutcome {
  state: AgentState;
  result: TurnResult;
}

/**
 * Runs (or resumes) the turn for one inbox message:
 * message → model → tools (in parallel) → model … until the model stops
 * asking for tools or a limit ends the turn. Resuming picks up after the
 * last checkpointed step, so no completed model or tool call repeats.
 */
export async function runTurn(initial: AgentState, pending: PendingMessage, deps: TurnDeps): Promise<TurnOutcome> {
  let state = initial;
  const { message } = pending;
  const update = (next: AgentState) => {
    state = { ...next, updatedAt: deps.clock.now() };
    deps.publish(state);
  };

  if (state.turn?.messageId !== message.messageId) {
    update({
      ...state,
      status: "running",
      messages: [...state.messages, { role: "user", content: [{ type: "text", text: message.content }] }],
      turn: { messageId: message.messageId, seq: pending.seq, startIndex: state.messages.length, startedAt: deps.clock.now(), iterations: 0, usage: zeroUsage() },
    });
  } else if (state.status !== "running") {
    update({ ...state, status: "running" });
  }

  for (;;) {
      const turn = state.turn!;
      const last = state.messages[state.messages.length - 1]!;
      const toolUses = last.role === "assistant" ? last.content.filter((b): b is ToolUseBlock => b.type === "tool_use") : [];
      if (last.role === "assistant" && toolUses.length === 0) return finish(state, deps, "completed", textOf(last.content));

      if (toolUses.length > 0) {
        const { results, memory } = await runTools(state, toolUses, message.messageId, deps);
        update({ ...state, memory, messages: [...state.messages, { role: "user", content: results }] });
        await deps.checkpoint(state);
        continue;
      }

      const limit = state.config.limits.maxIterationsPerTurn;
      if (turn.iterations >= limit) {
        return finish(state, deps, "failed", `Turn stopped: it reached the limit of ${limit} model calls (limits.maxIterationsPerTurn).`, "iteration_limit");
      }
      const response = await callModel(state, deps);
      if (!response.ok) return finish(state, deps, "failed", `Turn failed: ${response.error}`, "model_failed");
      const content: ContentBlock[] = response.value.content.length > 0 ? response.value.content : [{ type: "text", text: "" }];
      const usage = response.value.usage;
      update({
        ...state,
        messages: [...state.messages, { role: "assistant", content }],
        usage: addUsage(state.usage, usage),
        turn: { ...turn, iterations: turn.iterations + 1, usage: addUsage(turn.usage, usage) },
      });
      // A final answer is made durable by the turn's commit; only a response
      // that leads to tool calls needs its own checkpoint.
      if (content.some((b) => b.type === "tool_use")) await deps.checkpoint(state);
    }
}

/**
 * A model failure ends the turn with a failed result; checkpoint and abort
 * errors are not the model's and propagate to the activation.
 */
async function callModel(state: AgentState, deps: TurnDeps): Promise<{ ok: true; value: ModelResponse } | { ok: false; error: string }> {
  try {
    const value = await deps.model.complete(
      {
        model: state.config.model,
        system: state.config.systemPrompt,
        messages: state.messages,
        tools: deps.tools.specsFor(state.config.tools),
        maxTokens: DEFAULT_MAX_RESPONSE_TOKENS,
      },
      { ...(deps.signal ? { signal: deps.signal } : {}), ...(deps.onModelEvent ? { onEvent: deps.onModelEvent } : {}) },
    );
    return { ok: true, value };
  } catch (e) {
    if (deps.signal?.aborted) throw e;
    return { ok: false, error: errorMessage(e) };
  }
}

function finish(state: AgentState, deps: TurnDeps, status: TurnResult["status"], reply: string, errorCode?: string): TurnOutcome {
  const turn = state.turn!;
  const messages: ChatMessage[] =
    status === "completed" ? state.messages : [...state.messages, { role: "assistant", content: [{ type: "text", text: reply }] }];
  const next: AgentState = { ...state, messages, status: "idle", turn: null, turns: state.turns + 1, lastSeq: turn.seq, updatedAt: deps.clock.now() };
  const result: TurnResult = { messageId: turn.messageId, status, reply, usage: turn.usage };
  if (errorCode) result.error = { code: errorCode, message: reply };
  return { state: next, result };
}

async function runTools(state: AgentState, uses: ToolUseBlock[], messageId: string, deps: TurnDeps) {
  const memory = { ...state.memory };
  // A tool that outlives its call (timed out, ignoring its signal) must not
  // change memory that is already checkpointed.
  let open = true;
  const access = {
    get: (k: string) => (Object.hasOwn(memory, k) ? memory[k] : undefined),
    set: (k: string, v: string) => {
      if (open) memory[k] = v;
    },
  };
  const signal = deps.signal ?? new AbortController().signal;
  const results = await Promise.all(
    uses.map(async (use): Promise<ToolResultBlock> => {
      const out = await deps.tools.call(use.name, use.input, state.config.tools, {
        agentId: state.id,
        messageId: messageId as never,
        toolUseId: use.id,
        idempotencyKey: `${state.id}:${messageId}:${use.id}`,
        memory: access,
        signal,
      });
      return { type: "tool_result", toolUseId: use.id, content: out.content, isError: out.isError ?? false };
    }),
  );
  open = false;
  return { results, memory };
}
