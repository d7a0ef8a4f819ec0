import type { ServerResponse } from "node:http";
import type { FakeCacheUsage } from "./fake-prompt-cache.ts";
import { estimateFakeTokens } from "./fake-prompt-cache.ts";
import type { FakeReply, FakeUsage } from "./fake-steps.ts";

/** The API's error type for an HTTP status. */
export const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  408: "timeout_error",
  409: "conflict_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};
/** The HTTP status a non-streaming request gets for a stream error of this type. */
export const STATUS_BY_ERROR_TYPE: Record<string, number> = { overloaded_error: 529, rate_limit_error: 429, api_error: 500, timeout_error: 504 };

/**
 * Writes the fake's answers in the Messages API's wire format: JSON
 * messages, server-sent event streams and errors. One counter numbers every
 * id it makes up (request, message and tool-use ids).
 */
export class FakeWire {
  private ids = 0;

  /** An error in the API's shape; nothing if the response is already gone or started. */
  sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
    if (res.destroyed || res.headersSent) return;
    const body = JSON.stringify({ type: "error", error: { type, message }, request_id: `req_fake_${++this.ids}` });
    res.writeHead(status, { "content-type": "application/json", "request-id": `req_fake_${this.ids}`, ...headers }).end(body);
  }

  /** message_start, then a text block's start and deltas: the opening of a stream that will not finish normally. */
  startStream(res: ServerResponse, model: string, text: string, flushed?: () => void): void {
    this.writeSseHead(res);
    sse(res, "message_start", { type: "message_start", message: this.messageShell(model, { input_tokens: 10 }) });
    sse(res, "content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    for (const piece of words(text)) sse(res, "content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } });
    sse(res, "ping", { type: "ping" }, flushed);
  }

  /** A complete reply as a stream of server-sent events. */
  streamReply(res: ServerResponse, step: FakeReply, model: string, usage: Required<FakeUsage>): void {
    this.writeSseHead(res);
    sse(res, "message_start", { type: "message_start", message: this.messageShell(step.model ?? model, { ...usage, output_tokens: 1 }) });
    sse(res, "ping", { type: "ping" });
    step.content.forEach((block, index) => {
      if (block.type === "text") {
        sse(res, "content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } });
        for (const text of block.chunks ?? words(block.text)) sse(res, "content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text } });
      } else {
        const json = block.json ?? JSON.stringify(block.input ?? {});
        sse(res, "content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: block.id ?? `toolu_fake_${++this.ids}`, name: block.name, input: {} } });
        for (const partial_json of block.chunks ?? ["", ...pieces(json, 7)]) {
          sse(res, "content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } });
        }
      }
      sse(res, "content_block_stop", { type: "content_block_stop", index });
    });
    sse(res, "message_delta", { type: "message_delta", delta: { stop_reason: stopReasonOf(step), stop_sequence: null }, usage });
    sse(res, "message_stop", { type: "message_stop" });
    res.end();
  }

  /** A complete reply as one JSON message. */
  jsonReply(res: ServerResponse, step: FakeReply, model: string, usage: Required<FakeUsage>): void {
    const content = step.content.map((b) =>
      b.type === "text"
        ? { type: "text", text: b.text }
        : { type: "tool_use", id: b.id ?? `toolu_fake_${++this.ids}`, name: b.name, input: b.json === undefined ? (b.input ?? {}) : parseOr(b.json) },
    );
    const message = { ...this.messageShell(step.model ?? model, usage), content, stop_reason: stopReasonOf(step) };
    res.writeHead(200, { "content-type": "application/json", "request-id": `req_fake_${++this.ids}` }).end(JSON.stringify(message));
  }

  private messageShell(model: string, usage: FakeUsage) {
    return {
      id: `msg_fake_${++this.ids}`,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    };
  }

  private writeSseHead(res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": `req_fake_${++this.ids}` });
    res.flushHeaders();
  }
}

/** Writes one server-sent event; `flushed` runs once it has been handed to the socket. */
export function sse(res: ServerResponse, event: string, data: unknown, flushed?: () => void) {
  if (res.destroyed) return flushed?.();
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, () => flushed?.());
}

/** The step's usage, each missing field from the modelled one (prompt caching on) or the defaults. */
export const fullUsage = (u: FakeUsage = {}, modelled?: FakeCacheUsage & { output_tokens: number }): Required<FakeUsage> => ({
  input_tokens: u.input_tokens ?? modelled?.input_tokens ?? 10,
  output_tokens: u.output_tokens ?? modelled?.output_tokens ?? 5,
  cache_read_input_tokens: u.cache_read_input_tokens ?? modelled?.cache_read_input_tokens ?? 0,
  cache_creation_input_tokens: u.cache_creation_input_tokens ?? modelled?.cache_creation_input_tokens ?? 0,
});

/** A reply's output tokens, estimated like the input: characters / 4 (at least 1). */
export const outputTokens = (step: FakeReply): number =>
  Math.max(1, step.content.reduce((n, b) => n + estimateFakeTokens(b.type === "text" ? b.text : (b.json ?? JSON.stringify(b.input ?? {}))), 0));

const stopReasonOf = (step: FakeReply) => step.stopReason ?? (step.content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");

/** "Hello big world" → ["Hello ", "big ", "world"]. */
const words = (text: string): string[] => text.match(/^\s+|\S+\s*/g) ?? [];

const pieces = (text: string, size: number): string[] => {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
};

const parseOr = (json: string): unknown => {
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
};
