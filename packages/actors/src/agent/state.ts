import { z } from "zod";
import { chatMessageSchema, toolResultBlockSchema, usageSchema, zeroUsage } from "../model/messages.ts";
import type { AgentConfig } from "../config/agent-config.ts";
import { resolvedConfigSchema } from "../config/agent-config.ts";
import type { AgentId, AgentKey, AgentType } from "../ids.ts";
import { policyTraceSchema } from "./events.ts";

export const agentStatusSchema = z.enum(["idle", "running", "awaiting_approval", "suspended"]);
export type AgentStatus = z.infer<typeof agentStatusSchema>;

export { resolvedConfigSchema };

/** A tool call waiting for a person (permission tier "approval"). */
export const approvalRequestSchema = z.object({
  callId: z.string(),
  tool: z.string(),
  input: z.unknown(),
  requestedAt: z.number(),
  /** Denied automatically after this (epoch ms). */
  deadline: z.number(),
  /** The argument-policy rule that asked for approval, if one did. */
  policy: policyTraceSchema.optional(),
});
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>;

export const approvalDecisionSchema = z.object({
  approve: z.boolean(),
  reason: z.string().optional(),
  /** Who or what decided: "operator" or "timeout". */
  by: z.string(),
  at: z.number(),
});
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;

/**
 * The turn being worked on, checkpointed after every model response and tool
 * result so that a reactivated agent resumes it instead of starting over.
 */
export const inFlightTurnSchema = z.object({
  messageId: z.string(),
  seq: z.number().int().nonnegative(),
  /** Index in `messages` of the user message that opened the turn. */
  startIndex: z.number().int().nonnegative(),
  startedAt: z.number(),
  iterations: z.number().int().nonnegative(),
  usage: usageSchema,
  /** Tool calls of the last model response that wait for a person. */
  awaiting: z.array(approvalRequestSchema).default([]),
  /** Decisions taken so far in this turn, by call id. */
  decisions: z.record(z.string(), approvalDecisionSchema).default({}),
  /**
   * Results of the running tool batch, by call id, each checkpointed as it
   * completes: a call that finished is not run again if the host dies while
   * a sibling still runs.
   */
  toolResults: z.record(z.string(), toolResultBlockSchema).optional(),
  /**
   * Failed attempts of this turn in a row (a model error that survived the
   * provider's retries). Checkpointed with the turn, so a host that dies
   * between attempts neither forgets nor adds one; reset by a model call
   * that succeeds. At `deadLetter.afterFailures` the message is dead-lettered.
   */
  failures: z.number().int().nonnegative().optional(),
  /** When the first of those failures happened. */
  firstFailedAt: z.number().optional(),
});
export type InFlightTurn = z.infer<typeof inFlightTurnSchema>;

/** An agent's whole context: what lives hot in memory and in its snapshot. */
export const agentStateSchema = z.object({
  id: z.string(),
  type: z.string(),
  key: z.string(),
  config: resolvedConfigSchema,
  status: agentStatusSchema,
  messages: z.array(chatMessageSchema),
  memory: z.record(z.string(), z.string()),
  usage: usageSchema,
  turns: z.number().int().nonnegative(),
  /** Inbox sequence number of the last message whose turn completed. */
  lastSeq: z.number().int().nonnegative(),
  turn: inFlightTurnSchema.nullable(),
  parent: z.string().nullable(),
  children: z.array(z.string()),
  /** 0 for an agent spawned by a person; a worker is one deeper than its supervisor. */
  depth: z.number().int().nonnegative().default(0),
  /** Why the agent is suspended (its circuit opened); null when it is not. */
  suspension: z.object({ code: z.string(), reason: z.string(), at: z.number() }).nullable().default(null),
  /** The last turn that did not complete, and why: budgets, limits, model failures. */
  lastError: z.object({ messageId: z.string(), code: z.string(), message: z.string(), at: z.number() }).nullable().default(null),
  /** Things a person should look at, newest last (capped). */
  escalations: z.array(z.object({ code: z.string(), reason: z.string(), at: z.number() })).default([]),
  createdAt: z.number(),
  updatedAt: z.number(),
});

export type AgentState = Omit<z.infer<typeof agentStateSchema>, "id" | "type" | "key" | "config"> & {
  id: AgentId;
  type: AgentType;
  key: AgentKey;
  config: AgentConfig;
};

export function initialState(
  id: AgentId,
  type: AgentType,
  key: AgentKey,
  config: AgentConfig,
  now: number,
  parent: AgentId | null = null,
  depth = 0,
): AgentState {
  return {
    id,
    type,
    key,
    config,
    status: "idle",
    messages: [],
    memory: {},
    usage: zeroUsage(),
    turns: 0,
    lastSeq: 0,
    turn: null,
    parent,
    children: [],
    depth,
    suspension: null,
    lastError: null,
    escalations: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** A message accepted into an agent's durable inbox. */
export const inboxMessageSchema = z.object({
  messageId: z.string(),
  content: z.string(),
  idempotencyKey: z.string().optional(),
  acceptedAt: z.number(),
  /** W3C trace context of the request that sent it: one trace per request, across hosts. */
  traceparent: z.string().optional(),
  /** The sender's span id (the caller's traceparent), when the request carried one: the parent of the spans that handle the message. */
  parentSpanId: z.string().regex(/^[0-9a-f]{16}$/).optional(),
});
export type InboxMessage = z.infer<typeof inboxMessageSchema> & { messageId: import("../ids.ts").MessageId };

/** A message together with its place in the inbox. */
export interface PendingMessage {
  seq: number;
  message: InboxMessage;
}

/**
 * A message taken out of the queue because its turn kept failing: the
 * original message as accepted, why, and after how many attempts. Its id is
 * the message id (a message is dead-lettered at most once; a replay is a new
 * message with its own id).
 */
export const deadLetterSchema = z.object({
  id: z.string(),
  message: inboxMessageSchema,
  /** Inbox seq the message had. */
  seq: z.number().int().nonnegative(),
  reason: z.object({ code: z.string(), message: z.string() }),
  attempts: z.number().int().positive(),
  firstFailedAt: z.number(),
  deadLetteredAt: z.number(),
});
export type DeadLetter = Omit<z.infer<typeof deadLetterSchema>, "message"> & { message: InboxMessage };

/** The outcome of one message's turn, kept for dedup and for callers that wait. */
export const turnResultSchema = z.object({
  messageId: z.string(),
  status: z.enum(["completed", "failed"]),
  reply: z.string(),
  usage: usageSchema,
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** Set when the message was moved to the dead-letter list (error.code is the cause's: model_failed, token_budget_exhausted, ...). */
  deadLetter: z.object({ id: z.string(), reason: z.object({ code: z.string(), message: z.string() }), attempts: z.number().int() }).optional(),
});
export type TurnResult = z.infer<typeof turnResultSchema>;
