import type Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import type { ChatMessage, ContentBlock } from "./messages.ts";
import type { PriceTable } from "./pricing.ts";
import { costOf } from "./pricing.ts";
import type { ModelRequest, ModelResponse, StopReason } from "./provider.ts";

/**
 * Colony's conversation ⇄ the Messages API's: the request params sent, and
 * the final message parsed back (model output crosses a boundary).
 */

/** The Messages API accepts at most this many `cache_control` breakpoints per request. */
export const MAX_CACHE_BREAKPOINTS = 4;

const EPHEMERAL: Anthropic.CacheControlEphemeral = { type: "ephemeral" };

export interface ToParamsOptions {
  /**
   * Mark prompt-cache breakpoints (default true; a request with `cache: false`
   * gets none whatever this says). See `markCacheBreakpoints`.
   */
  promptCaching?: boolean;
}

export function toParams(request: ModelRequest, opts: ToParamsOptions = {}): Anthropic.MessageCreateParamsNonStreaming {
  const params: Anthropic.MessageCreateParamsNonStreaming = {
    model: request.model,
    max_tokens: request.maxTokens,
    ...(request.system ? { system: request.system } : {}),
    messages: request.messages.map(toParam),
    ...(request.tools.length
      ? { tools: request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema as Anthropic.Tool.InputSchema })) }
      : {}),
  };
  return (opts.promptCaching ?? true) && request.cache !== false ? markCacheBreakpoints(params) : params;
}

/**
 * Marks where the Messages API should cache the request's prefix, the way
 * Anthropic recommends for an agent loop. The prefix is read in the order
 * tools → system → messages, and each breakpoint caches everything up to
 * and including its block:
 * 1. the last tool: the tool definitions, stable for the agent's life;
 * 2. the system prompt: tools + system;
 * 3. the last block of the user message that ended the previous request (the
 *    one before the final message): exactly where the previous call wrote its
 *    cache, so it is read back even when more than the API's 20-block
 *    lookback was appended since (a step with many parallel tool calls);
 * 4. the last block of the final message: the whole growing conversation,
 *    written now and read by the next call.
 * So each call pays full price (1.25× for the cache write) only for what was
 * appended since the previous one, and 0.1× for the rest. Never more than
 * MAX_CACHE_BREAKPOINTS; never on an empty block (the API rejects those);
 * deterministic, so the prefix bytes are the same call after call. A prefix
 * shorter than the model's minimum (1,024–4,096 tokens) is not cached by the
 * API and costs nothing extra. Returns a copy; `params` is not changed.
 */
export function markCacheBreakpoints(params: Anthropic.MessageCreateParamsNonStreaming): Anthropic.MessageCreateParamsNonStreaming {
  const out: Anthropic.MessageCreateParamsNonStreaming = { ...params };
  let budget = MAX_CACHE_BREAKPOINTS;
  // Most recent first: should the budget ever be short, the growing prefix matters most.
  const messages = [...params.messages];
  const last = messages.length - 1;
  for (const i of [last, previousRequestEnd(messages)]) {
    if (i < 0 || budget === 0) continue;
    const marked = markLastBlock(messages[i]!);
    if (marked) {
      messages[i] = marked;
      budget--;
    }
  }
  out.messages = messages;
  if (typeof params.system === "string" && params.system.trim() !== "" && budget > 0) {
    out.system = [{ type: "text", text: params.system, cache_control: EPHEMERAL }];
    budget--;
  }
  if (params.tools?.length && budget > 0) {
    const tools = [...params.tools];
    tools[tools.length - 1] = { ...tools[tools.length - 1]!, cache_control: EPHEMERAL } as Anthropic.ToolUnion;
    out.tools = tools;
    budget--;
  }
  return out;
}

/** Index of the user message before the final one (where the previous call of the loop ended), or -1. */
function previousRequestEnd(messages: readonly Anthropic.MessageParam[]): number {
  for (let i = messages.length - 2; i >= 0; i--) if (messages[i]!.role === "user") return i;
  return -1;
}

/** The message with its last non-empty block marked, or null if it has none. */
function markLastBlock(message: Anthropic.MessageParam): Anthropic.MessageParam | null {
  const content: Anthropic.ContentBlockParam[] =
    typeof message.content === "string" ? (message.content.trim() === "" ? [] : [{ type: "text", text: message.content }]) : [...message.content];
  for (let i = content.length - 1; i >= 0; i--) {
    const block = content[i]!;
    if (!cacheable(block)) continue;
    content[i] = { ...block, cache_control: EPHEMERAL } as Anthropic.ContentBlockParam;
    return { ...message, content } as Anthropic.MessageParam;
  }
  return null;
}

/** Blocks a breakpoint may go on: not empty text (the API refuses those), not thinking. */
function cacheable(block: Anthropic.ContentBlockParam): boolean {
  switch (block.type) {
    case "text":
      return block.text.trim() !== "";
    case "tool_use":
      return true;
    case "tool_result":
      return typeof block.content === "string" ? block.content.trim() !== "" : (block.content?.length ?? 0) > 0;
    default:
      return false;
  }
}

function toParam(m: ChatMessage): Anthropic.MessageParam {
  const content = m.content.flatMap((b): Anthropic.ContentBlockParam[] => {
    switch (b.type) {
      case "text":
        return b.text === "" ? [] : [{ type: "text", text: b.text }];
      case "tool_use":
        return [{ type: "tool_use", id: b.id, name: b.name, input: b.input }];
      case "tool_result":
        return [{ type: "tool_result", tool_use_id: b.toolUseId, content: b.content, is_error: b.isError }];
    }
  });
  // The API rejects an empty content array.
  return { role: m.role, content: content.length ? content : [{ type: "text", text: "(empty)" }] };
}

// Keep only what Colony understands; other block types (thinking, ...) are dropped.
const messageSchema = z.object({
  model: z.string(),
  stop_reason: z.string().nullable(),
  content: z.array(
    z.union([
      z.object({ type: z.literal("text"), text: z.string() }),
      z.object({ type: z.literal("tool_use"), id: z.string(), name: z.string(), input: z.unknown() }),
      z.object({ type: z.string() }).loose(),
    ]),
  ),
  usage: z.object({
    input_tokens: z.number().nonnegative(),
    output_tokens: z.number().nonnegative(),
    cache_read_input_tokens: z.number().nonnegative().nullish(),
    cache_creation_input_tokens: z.number().nonnegative().nullish(),
  }),
});

/** API stop reasons, those outside Colony's vocabulary mapped to the closest one. */
const STOP_REASONS: Record<string, StopReason> = {
  end_turn: "end_turn",
  tool_use: "tool_use",
  max_tokens: "max_tokens",
  stop_sequence: "stop_sequence",
  refusal: "refusal",
  model_context_window_exceeded: "max_tokens",
  pause_turn: "end_turn",
};

/**
 * The final message as a ModelResponse priced from `prices`, or, when it
 * does not parse, a string naming the first problem ("usage.output_tokens: ...").
 * Tool input is returned as the model sent it, valid for its tool or not.
 */
export function fromMessage(message: unknown, prices: PriceTable): ModelResponse | string {
  const parsed = messageSchema.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `${issue.path.join(".")}: ${issue.message}`;
  }
  const res = parsed.data;
  const content: ContentBlock[] = [];
  for (const b of res.content) {
    if (b.type === "text" && "text" in b) content.push({ type: "text", text: String(b.text) });
    else if (b.type === "tool_use" && "id" in b) content.push({ type: "tool_use", id: String(b.id), name: String(b.name), input: b.input });
  }
  const tokens = {
    inputTokens: res.usage.input_tokens,
    outputTokens: res.usage.output_tokens,
    cacheReadTokens: res.usage.cache_read_input_tokens ?? 0,
    cacheWriteTokens: res.usage.cache_creation_input_tokens ?? 0,
  };
  return {
    content,
    stopReason: STOP_REASONS[res.stop_reason ?? "end_turn"] ?? "end_turn",
    usage: { ...tokens, costUsd: costOf(res.model, tokens, prices) },
    model: res.model,
  };
}
