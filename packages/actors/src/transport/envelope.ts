import { z } from "zod";

/**
 * Every message between Colony processes travels in one envelope, encoded
 * with msgpackr. Large context never rides in it: agents' state stays in
 * Redis; envelopes carry commands, message content and replies.
 */
export const envelopeSchema = z.object({
  /** Unique per envelope; a retried command keeps its id so the receiver can dedup. */
  id: z.string().min(1).max(128),
  /** What the body is, e.g. "agent.send", "dir.lookup"; replies are "reply" or "error". */
  kind: z.string().min(1).max(64),
  /** The sending process (a host id or "directory"). */
  from: z.string().min(1).max(160),
  /** The agent the envelope concerns, if any. */
  target: z.string().max(200).optional(),
  /** Epoch ms after which the receiver should not start the work. */
  deadline: z.number(),
  /** W3C trace context of the request that caused this envelope. */
  traceparent: z.string().max(55).optional(),
  body: z.unknown(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/** Body of an "error" reply: a ColonyError, rebuilt on the requesting side. */
export const errorBodySchema = z.object({
  code: z.string(),
  action: z.enum(["terminal", "retryable", "reroute"]),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  retryAfterMs: z.number().optional(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/**
 * Largest payload a client may hand Colony in one request (the admin API's
 * body limit). Checked once, at the edge: whatever the edge accepted must
 * then travel between hosts, so the envelope limit below leaves room for it.
 */
export const MAX_CLIENT_PAYLOAD_BYTES = 256 * 1024;

/**
 * Room for what wraps a client payload on the wire: the envelope's own
 * fields, the message id, idempotency key and traceparent, the epoch and
 * msgpack framing (a few hundred bytes, but an idempotency key may take
 * 1 KiB in UTF-8); generous so no accepted body is refused between hosts.
 */
export const ENVELOPE_HEADROOM_BYTES = 64 * 1024;

/**
 * Largest encoded envelope Colony sends: any payload the edge accepts plus
 * headroom, under a third of NATS's default max_payload (1 MiB), so headers
 * and growth never hit the server's limit.
 */
export const MAX_ENVELOPE_BYTES = MAX_CLIENT_PAYLOAD_BYTES + ENVELOPE_HEADROOM_BYTES;
