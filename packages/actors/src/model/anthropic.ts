import Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import type { ChatMessage, ContentBlock } from "./messages.ts";
import type { ModelPrice } from "./pricing.ts";
import { costOf } from "./pricing.ts";
import type { ModelCallOptions, ModelProvider, ModelRequest, ModelResponse, StopReason } from "./provider.ts";

export interface AnthropicModelOptions {
  apiKey: string;
  baseURL?: string;
  /** Retries the SDK makes itself for 408/409/429/5xx/529 and connection errors. */
  maxRetries?: number;
  timeoutMs?: number;
  priceTable?: Readonly<Record<string, ModelPrice>>;
}

// Model output crosses a boundary: parse it, keep only what Colony understands.
const responseSchema = z.object({
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
    input_tokens: z.number(),
    output_tokens: z.number(),
    cache_read_input_tokens: z.number().nullish(),
    cache_creation_input_tokens: z.number().nullish(),
  }),
});

const STOP_REASONS = new Set<StopReason>(["end_turn", "tool_use", "max_tokens", "stop_sequence", "refusal"]);

/** Claude through the Messages API (@anthropic-ai/sdk). */
export class AnthropicModel implements ModelProvider {
  readonly name = "anthropic";
  private readonly client: Anthropic;

  constructor(private readonly opts: AnthropicModelOptions) {
    this.client = new Anthropic({
      apiKey: opts.apiKey,
      ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
      maxRetries: opts.maxRetries ?? 2,
      timeout: opts.timeoutMs ?? 10 * 60_000,
    });
  }

  async complete(request: ModelRequest, options: ModelCallOptions = {}): Promise<ModelResponse> {
    const raw = await this.client.messages.create(
      {
        model: request.model,
        max_tokens: request.maxTokens,
        ...(request.system ? { system: request.system } : {}),
        messages: request.messages.map(toParam),
        ...(request.tools.length ? { tools: request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema as never })) } : {}),
      },
      options.signal ? { signal: options.signal } : {},
    );
    const res = responseSchema.parse(raw);
    const content: ContentBlock[] = [];
    for (const b of res.content) {
      if (b.type === "text" && "text" in b) content.push({ type: "text", text: String(b.text) });
      else if (b.type === "tool_use" && "id" in b) content.push({ type: "tool_use", id: String(b.id), name: String(b.name), input: b.input });
    }
    const usage = {
      inputTokens: res.usage.input_tokens,
      outputTokens: res.usage.output_tokens,
      cacheReadTokens: res.usage.cache_read_input_tokens ?? 0,
      cacheWriteTokens: res.usage.cache_creation_input_tokens ?? 0,
    };
    const stop = (res.stop_reason ?? "end_turn") as StopReason;
    return {
      content,
      stopReason: STOP_REASONS.has(stop) ? stop : "end_turn",
      usage: { ...usage, costUsd: costOf(res.model, usage, this.opts.priceTable) },
      model: res.model,
    };
  }
}

function toParam(m: ChatMessage): Anthropic.MessageParam {
  const content = m.content.flatMap((b): Anthropic.ContentBlockParam[] => {
    switch (b.type) {
      case "text":
        return b.text === "" ? [] : [{ type: "text", text: b.text }];
      case "tool_use":
        return [{ type: "tool_use", id: b.id, name: b.name, input: b.input as Record<string, unknown> }];
      case "tool_result":
        return [{ type: "tool_result", tool_use_id: b.toolUseId, content: b.content, is_error: b.isError }];
    }
  });
  return { role: m.role, content: content.length ? content : [{ type: "text", text: "(empty)" }] };
}
