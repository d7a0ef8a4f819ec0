import { Packr } from "msgpackr";
import { ColonyError, type ErrorDetails, PayloadTooLargeError, ValidationError } from "../errors.ts";
import { newMessageId } from "../ids.ts";
import { type Envelope, envelopeSchema, MAX_ENVELOPE_BYTES } from "./envelope.ts";
import { isTraceparent } from "./traceparent.ts";

// Plain maps, no records extension (like the snapshot codec): any msgpack
// decoder reads the bytes, and no structure state is shared between
// processes. copyBuffers: binary fields in a body never alias the transport's
// receive buffer.
const packr = new Packr({ useRecords: false, moreTypes: false, copyBuffers: true });

/** Bytes that do not decode into a valid envelope, or an envelope that cannot be encoded. */
export class InvalidEnvelopeError extends ColonyError {
  constructor(message: string, opts: { cause?: unknown; details?: ErrorDetails } = {}) {
    super("validation_failed", "terminal", message, opts);
  }
}

function firstIssue(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): { field: string; message: string } {
  const issue = error.issues[0];
  return { field: issue?.path.map(String).join(".") || "(root)", message: issue?.message ?? "invalid" };
}

/**
 * Validates and encodes an envelope: the one place msgpackr meets Colony's
 * wire messages. Throws InvalidEnvelopeError for an envelope that breaks the
 * schema or a body msgpack cannot represent, and PayloadTooLargeError above
 * MAX_ENVELOPE_BYTES: both at the sender, before anything is sent.
 */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const parsed = envelopeSchema.safeParse(envelope);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new InvalidEnvelopeError(`envelope field ${field} is invalid: ${message}`, { cause: parsed.error, details: { field } });
  }
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(parsed.data);
  } catch (e) {
    throw new InvalidEnvelopeError(`envelope ${parsed.data.kind} cannot be encoded: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      details: { field: "body" },
    });
  }
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new PayloadTooLargeError(`envelope ${parsed.data.kind} is ${bytes.length} bytes encoded; the limit is ${MAX_ENVELOPE_BYTES}`, {
      kind: parsed.data.kind,
      bytes: bytes.length,
      limit: MAX_ENVELOPE_BYTES,
    });
  }
  return bytes;
}

/** Decodes and validates an envelope; throws InvalidEnvelopeError naming what is wrong. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (!(bytes instanceof Uint8Array)) throw new InvalidEnvelopeError(`envelope bytes must be a Uint8Array; got ${typeof bytes}`);
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (e) {
    throw new InvalidEnvelopeError(`envelope is not valid msgpack (${bytes.length} bytes): ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      details: { bytes: bytes.length },
    });
  }
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new InvalidEnvelopeError(`bytes do not hold a Colony envelope: field ${field} is invalid: ${message}`, {
      cause: parsed.error,
      details: { field, bytes: bytes.length },
    });
  }
  return parsed.data;
}

/** What {@link newEnvelope} needs: the deadline either relative (`deadlineMs`) or absolute (`deadline`, epoch ms). */
export type NewEnvelope = {
  kind: string;
  /** The sending process (a host id or "directory"). */
  from: string;
  target?: string;
  /** A W3C traceparent (see newTraceparent/childTraceparent); validated. */
  traceparent?: string;
  body?: unknown;
  /** Keep the id of the command being retried, so the receiver can dedup; a fresh one otherwise. */
  id?: string;
  /** The current time in epoch ms (an injected clock's `now()`); default Date.now(). */
  now?: number;
} & ({ deadlineMs: number; deadline?: undefined } | { deadline: number; deadlineMs?: undefined });

/** Builds a valid envelope with a unique id; throws a ValidationError naming the bad field. */
export function newEnvelope(input: NewEnvelope): Envelope {
  const now = input.now ?? Date.now();
  let deadline: number;
  if (input.deadline !== undefined && input.deadlineMs !== undefined) {
    throw new ValidationError("give either deadline (epoch ms) or deadlineMs (from now), not both", { field: "deadline" });
  } else if (input.deadlineMs !== undefined) {
    if (!Number.isFinite(input.deadlineMs) || input.deadlineMs < 0) {
      throw new ValidationError(`deadlineMs must be a finite number ≥ 0; got ${input.deadlineMs}`, { field: "deadlineMs" });
    }
    deadline = now + input.deadlineMs;
  } else if (input.deadline !== undefined) {
    if (!Number.isFinite(input.deadline)) throw new ValidationError(`deadline must be a finite epoch ms; got ${input.deadline}`, { field: "deadline" });
    deadline = input.deadline;
  } else {
    throw new ValidationError("an envelope needs deadline (epoch ms) or deadlineMs (from now)", { field: "deadline" });
  }
  if (input.traceparent !== undefined && !isTraceparent(input.traceparent)) {
    throw new ValidationError(`traceparent must look like 00-<32 hex>-<16 hex>-<2 hex>; got ${JSON.stringify(String(input.traceparent).slice(0, 60))}`, {
      field: "traceparent",
    });
  }
  const env: Envelope = { id: input.id ?? newMessageId(now), kind: input.kind, from: input.from, deadline, body: input.body };
  if (input.target !== undefined) env.target = input.target;
  if (input.traceparent !== undefined) env.traceparent = input.traceparent;
  const parsed = envelopeSchema.safeParse(env);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new ValidationError(`envelope field ${field} is invalid: ${message}`, { field });
  }
  return env;
}
