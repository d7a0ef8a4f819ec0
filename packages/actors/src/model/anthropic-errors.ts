import { APIConnectionError, APIConnectionTimeoutError, APIError } from "@anthropic-ai/sdk";
import { ColonyError, TimeoutError, UnavailableError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import type { CallOutcome } from "./circuit-breaker.ts";

/**
 * What became of a failed model call: the ColonyError for the caller, the
 * status label for `colony_llm_requests_total`, how the circuit breaker
 * counts it, and whether a whole-request retry may help.
 */
export interface ModelFailure {
  error: ColonyError;
  /** "429", "529", "500", "401", "stream_error", "timeout", "connection", "bad_response", ... */
  status: string;
  outcome: CallOutcome;
  /** The error arrived after the HTTP response began (the SDK never retries those) and another attempt may succeed. */
  retryMidStream: boolean;
}

/** Error types of an `event: error` that say "try again", not "your request is wrong". */
const RETRYABLE_STREAM_ERROR_TYPES = new Set(["overloaded_error", "api_error", "rate_limit_error", "timeout_error"]);

const TERMINAL_BY_STATUS: Record<number, { code: ErrorCode; what: string }> = {
  400: { code: "validation_failed", what: "rejected the request as invalid" },
  401: { code: "unauthorized", what: "rejected the API key" },
  402: { code: "unauthorized", what: "refused the request for billing reasons" },
  403: { code: "unauthorized", what: "denied permission" },
  404: { code: "not_found", what: "does not know the model or endpoint" },
  413: { code: "payload_too_large", what: "rejected the request as too large" },
  422: { code: "validation_failed", what: "could not process the request" },
};

/** Delay the API asked for: `retry-after-ms`, else `retry-after` (seconds or an HTTP date). */
export function retryAfterMsOf(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get("retry-after");
  if (!raw) return undefined;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const apiMessageOf = (e: APIError) => e.apiMessage ?? e.message;

/**
 * Sorts whatever the SDK threw into a {@link ModelFailure}.
 * `midStream`: the HTTP response had started (status 200) when it failed.
 */
export function classifyModelError(e: unknown, midStream: boolean): ModelFailure {
  const opts = { cause: e };
  if (e instanceof APIConnectionTimeoutError) {
    return { error: new TimeoutError("the model API did not answer in time", opts), status: "timeout", outcome: "failure", retryMidStream: false };
  }
  if (e instanceof APIConnectionError) {
    return {
      error: new UnavailableError(`cannot reach the model API: ${e.message}`, opts),
      status: "connection",
      outcome: "failure",
      retryMidStream: midStream,
    };
  }
  if (e instanceof APIError && e.status !== undefined) return classifyStatus(e, e.status);
  // An `event: error` inside a 200 stream: status undefined, type from its body.
  if (e instanceof APIError) return classifyStreamError(e);
  const detail = e instanceof Error ? e.message : String(e);
  if (midStream) {
    // A connection cut mid-body, an unparseable chunk, a stream that ended
    // without message_stop: the stream broke.
    return { error: new UnavailableError(`the model API stream broke: ${detail}`, opts), status: "stream_error", outcome: "failure", retryMidStream: true };
  }
  // Before any response: a client-side fault (e.g. no credentials), not the API's.
  return { error: new ColonyError("internal", "terminal", `the model call failed: ${detail}`, opts), status: "error", outcome: "neutral", retryMidStream: false };
}

/** An error answer of the API (an HTTP status): retried when the API may answer better later. */
function classifyStatus(e: APIError, status: number): ModelFailure {
  const opts = { cause: e };
  const retryAfterMs = retryAfterMsOf(e.headers);
  const withRetry = retryAfterMs === undefined ? opts : { ...opts, retryAfterMs };
  const label = String(status);
  if (status === 429) {
    return {
      error: new ColonyError("rate_limited", "retryable", `the model API rate-limited the request (429): ${apiMessageOf(e)}`, withRetry),
      status: label,
      outcome: "failure",
      retryMidStream: false,
    };
  }
  if (status === 408) {
    return { error: new TimeoutError(`the model API timed out the request (408): ${apiMessageOf(e)}`, opts), status: label, outcome: "failure", retryMidStream: false };
  }
  if (status >= 500 || status === 409) {
    const what = status === 529 ? "is overloaded" : "failed";
    return {
      error: new UnavailableError(`the model API ${what} (${status}): ${apiMessageOf(e)}`, withRetry),
      status: label,
      outcome: "failure",
      retryMidStream: false,
    };
  }
  const terminal = TERMINAL_BY_STATUS[status] ?? { code: "validation_failed" as const, what: "rejected the request" };
  return {
    error: new ColonyError(terminal.code, "terminal", `the model API ${terminal.what} (${status}): ${apiMessageOf(e)}`, {
      ...opts,
      details: { status, ...(e.type ? { type: e.type } : {}) },
    }),
    status: label,
    outcome: "success",
    retryMidStream: false,
  };
}

/** An `event: error` inside a 200 stream: terminal unless its type says the API may do better on a retry. */
function classifyStreamError(e: APIError): ModelFailure {
  const opts = { cause: e };
  const type = e.type ?? undefined;
  if (type && !RETRYABLE_STREAM_ERROR_TYPES.has(type)) {
    return {
      error: new ColonyError("validation_failed", "terminal", `the model API ended the stream with ${type}: ${apiMessageOf(e)}`, { ...opts, details: { type } }),
      status: "stream_error",
      outcome: "success",
      retryMidStream: false,
    };
  }
  const message = `the model API failed mid-stream${type ? ` with ${type}` : ""}: ${apiMessageOf(e)}`;
  return {
    error: type === "rate_limit_error" ? new ColonyError("rate_limited", "retryable", message, opts) : new UnavailableError(message, opts),
    status: "stream_error",
    outcome: "failure",
    retryMidStream: true,
  };
}
