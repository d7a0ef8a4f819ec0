import { ColonyError } from "@colony/actors";
import type { LookupError } from "./protocol.ts";

/** One failed lookup of a batch, as it travels (what the error envelope of a single lookup would carry). */
export function lookupErrorOf(e: unknown): LookupError {
  if (e instanceof ColonyError) {
    const error: LookupError = { code: e.code, action: e.action, message: e.message.slice(0, 1_000) };
    if (e.retryAfterMs !== undefined) error.retryAfterMs = e.retryAfterMs;
    return error;
  }
  return { code: "internal", action: "terminal", message: `internal error: ${e instanceof Error ? e.message : String(e)}`.slice(0, 200) };
}
