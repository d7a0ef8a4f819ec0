import type { FakeRequest } from "./fake-request.ts";

/** A content block the fake sends. Deltas are split for you unless `chunks` says how. */
export type FakeBlock =
  | { type: "text"; text: string; /** text_delta pieces (must join to `text`); default: one per word */ chunks?: string[] }
  | {
      type: "tool_use";
      id?: string;
      name: string;
      input?: unknown;
      /** The input's JSON text as sent (may be malformed); default JSON.stringify(input ?? {}). */
      json?: string;
      /** input_json_delta pieces (must join to the JSON); default: "" then 7-character pieces. */
      chunks?: string[];
    };

export interface FakeUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** A complete message, streamed (SSE) or as JSON, whichever the request asked for. */
export interface FakeReply {
  kind: "reply";
  content: FakeBlock[];
  /** Default "tool_use" when a tool_use block is present, else "end_turn". */
  stopReason?: string;
  usage?: FakeUsage;
  /** Default: the model the request named. */
  model?: string;
}

/** An HTTP error in the API's shape `{type: "error", error: {type, message}}`. */
export interface FakeHttpError {
  kind: "http_error";
  status: number;
  /** Default from the status (429 → rate_limit_error, 529 → overloaded_error, ...). */
  errorType?: string;
  message?: string;
  /** e.g. retry-after, retry-after-ms, x-should-retry. */
  headers?: Record<string, string>;
}

/** A 200 stream that starts a text block, then sends `event: error` (non-streaming requests get the matching HTTP error). */
export interface FakeStreamError {
  kind: "stream_error";
  /** Text streamed before the error. Default "Partial". */
  text?: string;
  /** Default overloaded_error. */
  errorType?: string;
  message?: string;
}

/** A 200 stream cut off (socket destroyed) after some text; non-streaming: the socket is destroyed unanswered. */
export interface FakeDisconnect {
  kind: "disconnect";
  text?: string;
}

/** A 200 stream that sends some text and then nothing, until the client goes away or the fake closes. */
export interface FakeStall {
  kind: "stall";
  text?: string;
}

/** Waits `ms` (a real timer, cleared on close), then plays `then`. */
export interface FakeDelay {
  kind: "delay";
  ms: number;
  then: FakeStep;
}

/** Decides per request; may be async (e.g. awaiting a gate the test opens). */
export type FakeResponder = (request: FakeRequest) => FakeStep | Promise<FakeStep>;
export type FakeStep = FakeReply | FakeHttpError | FakeStreamError | FakeDisconnect | FakeStall | FakeDelay | FakeResponder;

/** Builders for the common steps. */
export const fakeSteps = {
  text: (text: string, opts: Omit<FakeReply, "kind" | "content"> = {}): FakeReply => ({ kind: "reply", content: [{ type: "text", text }], ...opts }),
  reply: (content: FakeBlock[], opts: Omit<FakeReply, "kind" | "content"> = {}): FakeReply => ({ kind: "reply", content, ...opts }),
  toolUse: (name: string, input: unknown, opts: Omit<FakeReply, "kind" | "content"> & { id?: string } = {}): FakeReply => {
    const { id, ...rest } = opts;
    return { kind: "reply", content: [{ type: "tool_use", name, input, ...(id ? { id } : {}) }], ...rest };
  },
  httpError: (status: number, opts: Omit<FakeHttpError, "kind" | "status"> = {}): FakeHttpError => ({ kind: "http_error", status, ...opts }),
  streamError: (opts: Omit<FakeStreamError, "kind"> = {}): FakeStreamError => ({ kind: "stream_error", ...opts }),
  disconnect: (text?: string): FakeDisconnect => ({ kind: "disconnect", ...(text === undefined ? {} : { text }) }),
  stall: (text?: string): FakeStall => ({ kind: "stall", ...(text === undefined ? {} : { text }) }),
  delay: (ms: number, then: FakeStep): FakeDelay => ({ kind: "delay", ms, then }),
};
