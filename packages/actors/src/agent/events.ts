import { z } from "zod";
import { usageSchema } from "../model/messages.ts";

/** Longest text kept in an event (previews of messages, replies, tool output). */
export const EVENT_TEXT_LIMIT = 2_000;
export const preview = (text: string): string => (text.length > EVENT_TEXT_LIMIT ? `${text.slice(0, EVENT_TEXT_LIMIT)}…` : text);

/**
 * What an agent does, step by step: streamed live (server-sent events) and,
 * except for text deltas, recorded in its execution trace — what an operator
 * reads to answer "why did the agent do that?".
 */
/** Which argument-policy rule chose a call's tier (rule null: none matched, the default tier applied). */
export const policyTraceSchema = z.object({
  tier: z.enum(["auto", "approval", "deny"]),
  rule: z.number().int().nullable(),
  name: z.string().optional(),
  /** The rule matched because its comparison could not be evaluated and its tier is the cautious one. */
  cautious: z.literal(true).optional(),
});

export const agentEventSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("turn_started"), content: z.string() }),
  z.object({ kind: z.literal("model_request"), iteration: z.number(), model: z.string(), provider: z.string().optional(), messages: z.number() }),
  z.object({
    kind: z.literal("model_response"),
    iteration: z.number(),
    stopReason: z.string(),
    text: z.string(),
    toolCalls: z.array(z.object({ id: z.string(), name: z.string() })),
    usage: usageSchema,
    durationMs: z.number(),
  }),
  z.object({ kind: z.literal("model_error"), iteration: z.number(), error: z.string(), durationMs: z.number() }),
  z.object({ kind: z.literal("text_delta"), text: z.string() }),
  z.object({
    kind: z.literal("tool_call"),
    callId: z.string(),
    tool: z.string(),
    input: z.unknown(),
    policy: policyTraceSchema.optional(),
    /** What the call carries to the service it reaches (the HTTP Idempotency-Key): the same on a retry and a resumed turn. */
    idempotencyKey: z.string().optional(),
  }),
  z.object({
    kind: z.literal("tool_result"),
    callId: z.string(),
    tool: z.string(),
    outcome: z.string(),
    isError: z.boolean(),
    content: z.string(),
    durationMs: z.number(),
    policy: policyTraceSchema.optional(),
    /** What the tool reported about the call (an HTTP tool: status, attempts, idempotencyKey). */
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  }),
  z.object({ kind: z.literal("approval_requested"), callId: z.string(), tool: z.string(), input: z.unknown(), deadline: z.number(), policy: policyTraceSchema.optional() }),
  z.object({ kind: z.literal("approval_decided"), callId: z.string(), approve: z.boolean(), by: z.string(), reason: z.string().optional() }),
  z.object({ kind: z.literal("status"), status: z.string(), reason: z.string().optional() }),
  z.object({ kind: z.literal("compaction"), messagesBefore: z.number(), messagesAfter: z.number() }),
  z.object({ kind: z.literal("escalation"), code: z.string(), reason: z.string() }),
  /** The turn's message was moved to the dead-letter list (its id is the message id). */
  z.object({ kind: z.literal("dead_lettered"), id: z.string(), code: z.string(), message: z.string(), attempts: z.number() }),
  z.object({
    kind: z.literal("turn_finished"),
    status: z.string(),
    reply: z.string(),
    usage: usageSchema,
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  }),
]);
export type AgentEvent = z.infer<typeof agentEventSchema>;

/** An event with where and when it happened. */
export const agentEventRecordSchema = z.object({
  agent: z.string(),
  at: z.number(),
  /** The turn number (1 for the agent's first turn). */
  turn: z.number(),
  messageId: z.string().optional(),
  host: z.string().optional(),
  /** The trace id of the request behind the turn (from its W3C traceparent). */
  traceId: z.string().optional(),
  /** The span id of the message's traceparent: tool calls derive their span ids from it (toolCallSpanId). */
  spanId: z.string().optional(),
  /** The span that sent the message (an HTTP caller's, a supervisor's delegate call): the parent of the turn's span. */
  parentSpanId: z.string().optional(),
  event: agentEventSchema,
});
export type AgentEventRecord = z.infer<typeof agentEventRecordSchema>;
