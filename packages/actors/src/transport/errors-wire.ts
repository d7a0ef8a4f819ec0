import { ColonyError, type ErrorCode, type ErrorDetails } from "../errors.ts";
import { newMessageId } from "../ids.ts";
import { type Envelope, type ErrorBody, errorBodySchema } from "./envelope.ts";
import { decodeEnvelope, encodeEnvelope } from "./envelope-codec.ts";

/**
 * Errors across the wire: a responder's thrown error becomes an "error"
 * envelope (errorBodySchema), and the requester rethrows it as a
 * RemoteError, a ColonyError with the same code, action, message, details
 * and retryAfterMs, so callers branch on `e.code` / `e.action` whichever
 * process the error came from.
 */

/** Reply kinds (DESIGN: replies are "reply" or "error"). */
export const REPLY_KIND = "reply";
export const ERROR_KIND = "error";

/** A ColonyError's message is cut here on the wire; a non-Colony error's at INTERNAL_MESSAGE_CHARS. */
export const MAX_ERROR_MESSAGE_CHARS = 1_000;
export const INTERNAL_MESSAGE_CHARS = 200;

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A ColonyError thrown by another process, rebuilt from its error envelope. */
export class RemoteError extends ColonyError {
  /** The process that answered with the error (its envelope's `from`), when known. */
  readonly remote: string | undefined;

  constructor(body: ErrorBody, remote?: string) {
    const opts: { details?: ErrorDetails; retryAfterMs?: number } = {};
    if (body.details !== undefined) opts.details = body.details;
    if (body.retryAfterMs !== undefined) opts.retryAfterMs = body.retryAfterMs;
    // A peer on a newer build may send a code this build does not list; it is kept as sent.
    super(body.code as ErrorCode, body.action, body.message, opts);
    this.remote = remote;
  }
}

/** What travels in an "error" envelope for whatever a handler threw. */
export function toErrorBody(e: unknown): ErrorBody {
  if (e instanceof ColonyError) {
    const body: ErrorBody = { code: e.code, action: e.action, message: clip(e.message, MAX_ERROR_MESSAGE_CHARS) };
    if (e.details !== undefined) body.details = e.details;
    if (e.retryAfterMs !== undefined) body.retryAfterMs = e.retryAfterMs;
    return body;
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: "internal", action: "terminal", message: clip(`internal error: ${message}`, INTERNAL_MESSAGE_CHARS) };
}

/** Rebuilds the error a responder sent; a malformed body still yields a ColonyError (internal). */
export function fromErrorBody(body: unknown, remote?: string): RemoteError {
  const parsed = errorBodySchema.safeParse(body);
  if (parsed.success) return new RemoteError(parsed.data, remote);
  return new RemoteError({ code: "internal", action: "terminal", message: "the responder sent a malformed error reply" }, remote);
}

/** The envelope answering `request` with `body`. */
export function replyEnvelope(request: Envelope, from: string, body: unknown): Envelope {
  const env: Envelope = { id: newMessageId(), kind: REPLY_KIND, from, deadline: request.deadline, body };
  if (request.target !== undefined) env.target = request.target;
  if (request.traceparent !== undefined) env.traceparent = request.traceparent;
  return env;
}

/** The envelope answering `request` (undefined when it could not even be decoded) with an error. */
export function errorEnvelope(request: Envelope | undefined, from: string, error: unknown, now = Date.now()): Envelope {
  const env: Envelope = { id: newMessageId(now), kind: ERROR_KIND, from, deadline: request?.deadline ?? now, body: toErrorBody(error) };
  if (request?.target !== undefined) env.target = request.target;
  if (request?.traceparent !== undefined) env.traceparent = request.traceparent;
  return env;
}

/**
 * Encodes an error reply. When the full body cannot be encoded (details too
 * large or not representable), it falls back to code, action and message, so
 * the requester still learns what happened instead of timing out.
 */
export function encodeErrorReply(request: Envelope | undefined, from: string, error: unknown): Uint8Array {
  const env = errorEnvelope(request, from, error);
  try {
    return encodeEnvelope(env);
  } catch {
    const { code, action, message } = env.body as ErrorBody;
    return encodeEnvelope({ ...env, body: { code, action, message } });
  }
}

/** Decodes a reply: resolves to its body, or throws the RemoteError an "error" envelope carries. */
export function readReply(bytes: Uint8Array, subject: string): unknown {
  const env = decodeEnvelope(bytes);
  if (env.kind === REPLY_KIND) return env.body;
  if (env.kind === ERROR_KIND) throw fromErrorBody(env.body, env.from);
  throw new ColonyError("internal", "terminal", `the reply on ${subject} has kind "${env.kind}"; expected "${REPLY_KIND}" or "${ERROR_KIND}"`, {
    details: { subject, kind: env.kind },
  });
}
