import type { ChatMessage, ContentBlock, Usage } from "./messages.ts";

/** A tool as the model sees it: name, description and JSON Schema of its input. */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface ModelRequest {
  model: string;
  system: string;
  messages: readonly ChatMessage[];
  tools: readonly ToolSpec[];
  maxTokens: number;
  /**
   * Whether this request's prefix is worth caching (default true). A one-off
   * request whose prefix no later call repeats (a compaction summary) says
   * false: a cache write costs 1.25× the input price and would never be read.
   */
  cache?: boolean;
}

export type StopReason = "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "refusal";

export interface ModelResponse {
  content: ContentBlock[];
  stopReason: StopReason;
  usage: Usage;
  model: string;
}

/** Events a provider emits while a response streams in. */
export type ModelEvent = { kind: "text_delta"; text: string } | { kind: "tool_use"; id: string; name: string };

export interface ModelCallOptions {
  signal?: AbortSignal;
  onEvent?: (event: ModelEvent) => void;
}

/** Model names the Anthropic Messages API serves. */
export const CLAUDE_MODEL_PATTERN = /^claude-[a-z0-9.-]+$/;

/**
 * Where an agent's reasoning comes from: the Anthropic Messages API in
 * production, the offline scripted model in `colony dev` without a key.
 */
export interface ModelProvider {
  readonly name: string;
  /**
   * Whether calls can go through now. A provider whose API keeps failing
   * (an open circuit) says no, so new messages are refused fast (503)
   * instead of being accepted only to fail.
   */
  availability?(): { available: true } | { available: false; reason: string; retryAfterMs: number };
  /** Null if this provider can serve the model name, else why not (spawns with such a model are refused). */
  refuses?(model: string): string | null;
  complete(request: ModelRequest, options?: ModelCallOptions): Promise<ModelResponse>;
}
