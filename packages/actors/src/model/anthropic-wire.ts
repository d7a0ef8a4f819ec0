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

export function toParams(request: ModelRequest): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    ...(request.system ? { system: request.system } : {}),
    messages: request.messages.map(toParam),
    ...(request.tools.length
      ? { tools: request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema as Anthropic.Tool.InputSchema })) }
      : {}),
  };
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
