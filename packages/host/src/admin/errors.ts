import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode } from "@colony/actors";
import { ColonyError, asRedisUnavailable } from "@colony/actors";

/** The HTTP status each error code maps to (the README lists them). */
export const STATUS_OF: Record<ErrorCode, ContentfulStatusCode> = {
  validation_failed: 400,
  unauthorized: 401,
  not_found: 404,
  already_exists: 409,
  wrong_state: 409,
  stale_epoch: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  agent_not_here: 503,
  no_responders: 503,
  timeout: 503,
  corrupt_snapshot: 500,
  internal: 500,
};

/** The error body of every failed request: `{error: {code, message, details?}}`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: details ? { code, message, details } : { code, message } };
}

/**
 * Maps anything thrown to a status and body; unknown errors hide their text.
 * Redis unreachable is 503 `unavailable` with Retry-After: not acknowledged, safe to retry.
 */
export function toHttpError(thrown: unknown): { status: ContentfulStatusCode; body: ErrorBody; retryAfterMs?: number; internal: boolean } {
  const e = asRedisUnavailable(thrown);
  if (e instanceof ColonyError) {
    const out: { status: ContentfulStatusCode; body: ErrorBody; retryAfterMs?: number; internal: boolean } = {
      status: STATUS_OF[e.code],
      body: errorBody(e.code, e.message, e.details),
      internal: STATUS_OF[e.code] >= 500 && e.code !== "unavailable",
    };
    if (e.retryAfterMs !== undefined) out.retryAfterMs = e.retryAfterMs;
    return out;
  }
  return { status: 500, body: errorBody("internal", "internal error; see the host's log"), internal: true };
}
