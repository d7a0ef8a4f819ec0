import { createHash, randomBytes } from "node:crypto";
import { ValidationError } from "../errors.ts";

/**
 * W3C Trace Context `traceparent` values (https://www.w3.org/TR/trace-context/):
 * `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, lowercase. Only
 * version 00 is produced and accepted; all-zero ids are invalid.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
/** The "sampled" flag: Colony records every trace it starts. */
const SAMPLED = "01";

export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: string;
}

/** Parses a traceparent, or returns undefined when it is not a valid version-00 value. */
export function parseTraceparent(value: unknown): TraceContext | undefined {
  if (typeof value !== "string") return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, flags: m[3]! };
}

export function isTraceparent(value: unknown): value is string {
  return parseTraceparent(value) !== undefined;
}

/** Random bytes drawn in blocks: one call into the system's generator serves ~170 trace ids. */
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let offset = 0;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (offset + bytes > POOL_BYTES) {
      pool = randomBytes(POOL_BYTES);
      offset = 0;
    }
    const hex = pool.toString("hex", offset, offset + bytes);
    offset += bytes;
    if (hex !== zero) return hex;
  }
}

/** Starts a new trace: random trace id and span id, sampled. */
export function newTraceparent(): string {
  return `00-${randomHex(16, ZERO_TRACE)}-${randomHex(8, ZERO_SPAN)}-${SAMPLED}`;
}

/** A child span of `parent`: the same trace id and flags, a new span id. Throws a ValidationError on an invalid parent. */
export function childTraceparent(parent: string): string {
  const ctx = parseTraceparent(parent);
  if (!ctx) {
    const shown = typeof parent === "string" ? JSON.stringify(parent.slice(0, 60)) : typeof parent;
    throw new ValidationError(`traceparent must look like 00-<32 hex>-<16 hex>-<2 hex> (lowercase, ids not all zero); got ${shown}`, {
      field: "traceparent",
    });
  }
  return `00-${ctx.traceId}-${randomHex(8, ZERO_SPAN)}-${ctx.flags}`;
}

/**
 * The traceparent a tool call passes on (a delegation's message to its
 * worker): the same trace, and a span id derived from the calling message's
 * span and the call's id. Deterministic, so the span an exporter records for
 * the call (`execute_tool`) has exactly this id and the worker's spans hang
 * under it, on whichever host each side runs, with no state shared between
 * them; and a call re-run after a crash keeps its id. Undefined for an
 * invalid parent.
 */
export function toolCallTraceparent(parent: string, callId: string): string | undefined {
  const ctx = parseTraceparent(parent);
  if (!ctx) return undefined;
  return `00-${ctx.traceId}-${toolCallSpanId(ctx.traceId, ctx.spanId, callId)}-${ctx.flags}`;
}

/** The span id of a tool call made while handling the message whose traceparent has `spanId` (see toolCallTraceparent). */
export function toolCallSpanId(traceId: string, spanId: string, callId: string): string {
  const hex = createHash("sha256").update(`${traceId}:${spanId}:${callId}`).digest("hex");
  // All zero is invalid; 64 zero bits from SHA-256 does not happen, but the rule costs nothing.
  return hex.slice(0, 16) === ZERO_SPAN ? hex.slice(16, 32) : hex.slice(0, 16);
}
