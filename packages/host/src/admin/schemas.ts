import { z } from "zod";
import {
  MAX_CLIENT_PAYLOAD_BYTES,
  ValidationError,
  agentStatusSchema,
  approvalRequestSchema,
  chatMessageSchema,
  pendingApprovalSchema,
  usageSchema,
  agentEventRecordSchema,
  resolvedConfigSchema,
  deadLetterSchema,
} from "@colony/actors";
import { hostsReplySchema } from "@colony/directory";
import { hostStatsSchema } from "../metrics/stats.ts";

/**
 * Request bodies above this size get 413 before they are parsed, on every
 * host alike: forwarding to the agent's owner carries any body under it.
 */
export const MAX_BODY_BYTES = MAX_CLIENT_PAYLOAD_BYTES;
/** Longest message content accepted, in characters. */
export const MAX_CONTENT_CHARS = 128 * 1024;
export const MAX_PAGE_SIZE = 500;

export const spawnBodySchema = z.strictObject({
  type: z.string(),
  key: z.string().optional(),
  config: z.unknown().optional(),
});

export const sendBodySchema = z.strictObject({
  content: z.string().min(1, "must not be empty").max(MAX_CONTENT_CHARS, `must be at most ${MAX_CONTENT_CHARS} characters`),
  idempotencyKey: z.string().min(1).max(256).optional(),
  wait: z.boolean().optional(),
});

/** An agent type as GET /v1/types lists it. */
export const agentTypeViewSchema = z.object({
  type: z.string(),
  source: z.enum(["code", "api", "code+api"]).describe("defined in code (defineAgent), through PUT /v1/types, or both layered"),
  description: z.string(),
  config: z.record(z.string(), z.unknown()).describe("the operator's defaults as stored (empty for a type defined in code only)"),
  resolved: z.record(z.string(), z.unknown()).describe("what a spawn without a config gets"),
  updatedAt: z.string().nullable(),
});
export const agentTypeListSchema = z.object({ types: z.array(agentTypeViewSchema) });

/** PUT /v1/types/{type}: the type's defaults, any field of a spawn config. */
export const typeBodySchema = z.strictObject({
  config: z.unknown().optional(),
});

export const decisionBodySchema = z.strictObject({
  approve: z.boolean(),
  reason: z.string().max(2000).optional(),
});

/** A whole number ≥ 0 from a query string; typed for the document, which would otherwise allow null (coercing null gives 0). */
const queryCount = () => z.coerce.number().int().min(0).meta({ type: "integer", minimum: 0 });

export const traceQuerySchema = z.strictObject({
  turn: queryCount().optional(),
  since: queryCount().optional(),
  cursor: z.string().regex(/^[0-9-]{1,40}$/, "a cursor from a previous page").optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const eventsQuerySchema = z.strictObject({
  /** turn_end: close the stream after the next turn finishes. */
  until: z.enum(["turn_end"]).optional(),
  heartbeatMs: z.coerce.number().int().min(100).max(60_000).optional(),
});

export const messagesQuerySchema = z.strictObject({
  cursor: z.string().regex(/^\d{1,9}$/, "a cursor from a previous page").optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
});

export const deadLettersQuerySchema = z.strictObject({
  cursor: z.string().regex(/^\d{1,15}$/, "a cursor from a previous page").optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
});

export const listQuerySchema = z.strictObject({
  type: z.string().optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
});

/**
 * The 400 a failed parse answers: its first issue as a ValidationError naming
 * the field, with the message prefixed by where the input came from ("body",
 * "query"). An issue that carries its own ValidationError (a path parameter's
 * grammar, admin/route-kit.ts) answers with that one, word for word.
 */
export function inputError(error: z.ZodError, where: string): ValidationError {
  const issue = error.issues[0]!;
  if (issue.code === "custom" && issue.params?.["error"] instanceof ValidationError) return issue.params["error"];
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    const field = [...path, issue.keys[0]!].join(".");
    return new ValidationError(`${where}: unknown field "${field}"`, { field });
  }
  const field = path.join(".") || where;
  return new ValidationError(`${where}: ${field}: ${issue.message}`, { field });
}

// ---------------------------------------------------------------------------
// Response bodies. The routes build these shapes and declare them as their
// responses (admin/*-routes.ts); the OpenAPI document is generated from them, and the OpenAPI test
// validates real responses against that document, so the three cannot drift.
// ---------------------------------------------------------------------------

/** The error body `{error: {code, message, details?}}`, for every 4xx and 5xx of the admin API. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe("machine-readable: validation_failed, unauthorized, not_found, already_exists, wrong_state, payload_too_large, rate_limited, unavailable, internal, ..."),
      message: z.string().describe("for people; names the field on a validation error"),
      details: z.record(z.string(), z.unknown()).optional().describe("e.g. {field} on validation_failed"),
    }),
  });

/** A config with every default applied, as an agent runs with it: the snapshot's own schema. */
export const resolvedConfigResponseSchema = resolvedConfigSchema;

const incidentSchema = z.object({ code: z.string(), reason: z.string(), at: z.number().describe("epoch ms") });
const isoTime = z.string().describe("ISO 8601 timestamp");

/** GET /v1/agents/{type}/{key} (and the 201 of a spawn, the 200 of a resume): agent-view.ts's AgentView. */
export const agentViewSchema = z
  .object({
    id: z.string().describe("<type>/<key>"),
    type: z.string(),
    key: z.string(),
    status: agentStatusSchema,
    host: z.string().nullable().describe("the host id it is active on, or null when passivated"),
    turns: z.number().int().nonnegative(),
    usage: usageSchema,
    config: resolvedConfigResponseSchema,
    provider: z.string().describe("the model provider serving config.model: anthropic, or scripted (offline: ANTHROPIC_API_KEY is unset)"),
    parent: z.string().nullable(),
    children: z.array(z.string()),
    memory: z.record(z.string(), z.string()),
    messageCount: z.number().int().nonnegative().describe("messages in its context; read them with GET …/messages"),
    suspension: incidentSchema.nullable().describe("why it is suspended (its circuit is open), or null"),
    lastError: z.object({ messageId: z.string(), code: z.string(), message: z.string(), at: z.number() }).nullable(),
    escalations: z.array(incidentSchema),
    awaitingApproval: z.array(approvalRequestSchema).describe("tool calls of the running turn waiting for a person"),
    createdAt: isoTime,
    updatedAt: isoTime,
  });

/** GET /v1/agents/{type}/{key}/messages: agent-view.ts's MessagePage. */
export const messagePageResponseSchema = z.object({
  messages: z.array(chatMessageSchema),
  start: z.number().int().nonnegative().describe("position of the page's first message in the context"),
  total: z.number().int().nonnegative().describe("messages in the whole context"),
  nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last page. Positions shift when the context is compacted."),
});

/** One row of GET /v1/agents: agent-view.ts's AgentSummary. */
export const agentSummarySchema = z
  .object({
    id: z.string(),
    type: z.string(),
    key: z.string(),
    status: agentStatusSchema,
    host: z.string().nullable(),
    turns: z.number().int().nonnegative(),
  });

export const agentListResponseSchema = z
  .object({
    agents: z.array(agentSummarySchema),
    nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last page"),
  });

/** 200 of POST …/messages with wait (the turn finished). */
export const sendCompletedResponseSchema = z
  .object({
    messageId: z.string(),
    status: z.enum(["completed", "failed"]),
    reply: z.string().describe("the final assistant text"),
    usage: usageSchema,
    duplicate: z.boolean().describe("true when an earlier message with this id or idempotencyKey answered"),
    error: z.object({ code: z.string(), message: z.string() }).optional().describe("why the turn failed"),
    deadLetter: z
      .object({ id: z.string(), reason: z.object({ code: z.string(), message: z.string() }), attempts: z.number().int() })
      .optional()
      .describe("set when the message was moved to the dead-letter list (error.code is the cause): replay or discard it by this id"),
  });

/** 200 of POST …/messages with wait when the turn paused for a person's approval. */
export const sendAwaitingResponseSchema = z.object({
  messageId: z.string(),
  status: z.literal("awaiting_approval"),
  awaiting: z.array(z.string()).describe("call ids waiting; decide them with POST …/approvals/{callId}"),
  duplicate: z.boolean(),
});

/** 200 of POST …/messages with wait: the turn finished, or paused for approval. */
export const sendReplyResponseSchema = z.union([sendCompletedResponseSchema, sendAwaitingResponseSchema]);

/** 202 of POST …/messages: stored durably, the turn runs (or is still running). */
export const sendAcceptedResponseSchema = z
  .object({
    messageId: z.string(),
    status: z.literal("accepted"),
    duplicate: z.boolean(),
  });

/** GET /v1/agents/{type}/{key}/trace: one page of the execution trace. */
export const traceResponseSchema = z.object({
  entries: z.array(agentEventRecordSchema.extend({ id: z.string().describe("position in the trace; pass as cursor") })),
  nextCursor: z.string().nullable(),
});

export const approvalsResponseSchema = z.object({ approvals: z.array(pendingApprovalSchema) });

export const decisionResponseSchema = z.object({ callId: z.string(), approve: z.boolean() });

/** GET /v1/hosts: the directory's membership reply, passed through. */
export const hostsResponseSchema = hostsReplySchema;

/** GET /v1/cluster/stats: every live host's running totals (or why it did not answer). */
export const clusterStatsResponseSchema = z.object({
  at: z.number().describe("epoch ms, on the answering host"),
  hosts: z.array(z.union([z.object({ host: z.string(), stats: hostStatsSchema }), z.object({ host: z.string(), error: z.string() })])),
});

export const healthResponseSchema = z.object({ status: z.literal("ok"), host: z.string() });
export const readyResponseSchema = z.object({ status: z.literal("ready"), host: z.string() });

/** GET /v1/agents/{type}/{key}/dead-letters: one page of the agent's dead letters, oldest first. */
export const deadLetterPageResponseSchema = z.object({
  deadLetters: z.array(
    deadLetterSchema.extend({
      id: z.string().describe("the dead-lettered message's id; replay or discard by it"),
      seq: z.number().int().describe("its position in the inbox it was taken from"),
      reason: z.object({ code: z.string(), message: z.string() }).describe("why: model_failed (after attempts in a row), token_budget_exhausted, cost_budget_exhausted"),
      attempts: z.number().int().describe("failed attempts of its turn"),
      firstFailedAt: z.number().describe("epoch ms"),
      deadLetteredAt: z.number().describe("epoch ms"),
    }),
  ),
  nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last page"),
  dropped: z.number().int().nonnegative().describe("entries dropped, oldest first, because the list was full (1,000 per agent)"),
});

/** 202 of POST …/dead-letters/{id}/replay. */
export const replayResponseSchema = z.object({
  messageId: z.string().describe("the replayed message's own id (a new message)"),
  status: z.literal("accepted"),
  duplicate: z.boolean().describe("true when a retried replay found its message already accepted"),
  replayOf: z.string().describe("the dead letter replayed"),
});
