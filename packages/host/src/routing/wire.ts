import { z } from "zod";
import type { InboxMessage, MessageId } from "@colony/actors";
import { defineRpc, inboxMessageSchema, parseToken, turnResultSchema } from "@colony/actors";
import { decideRequestSchema, directoryToHostRpcs, okReplySchema } from "@colony/directory";
import { agentViewSchema, messagePageResponseSchema } from "../admin/schemas.ts";
import { hostStatsSchema } from "../metrics/stats.ts";

/** Bodies of the requests hosts send each other on `colony.host.<id>`. */
export const sendRequestSchema = z.object({
  epoch: z.number().int(),
  // The id is checked as a token on arrival: what reaches the inbox is an InboxMessage.
  message: inboxMessageSchema.transform((m): InboxMessage => ({ ...m, messageId: parseToken<MessageId>(m.messageId, "message.messageId") })),
  /** How long the owner may wait for the turn's result; null: do not wait. */
  waitMs: z.number().int().nonnegative().nullable(),
  /** Answer as soon as the turn pauses for approval instead of waiting for its result. */
  untilPause: z.boolean().optional(),
});

/** The owner's wall-clock stages of the message (COLONY_MESSAGE_TIMING=1 only). */
const timing = z.array(z.tuple([z.string(), z.number()])).optional();

export const sendReplySchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("completed"), messageId: z.string(), duplicate: z.boolean(), result: turnResultSchema, timing }),
  z.object({ kind: z.literal("accepted"), messageId: z.string(), duplicate: z.boolean(), timing }),
  z.object({ kind: z.literal("awaiting_approval"), messageId: z.string(), duplicate: z.boolean(), awaiting: z.array(z.string()), timing }),
]);

/** A command for an agent's activation, carrying the epoch the sender looked up. */
export const commandSchema = <T extends z.ZodRawShape>(body: z.ZodObject<T>) => body.extend({ epoch: z.number().int() });

const viewReplySchema = z.object({ view: agentViewSchema });

/**
 * What hosts ask each other on `colony.host.<id>`, each defined once (kind,
 * request, reply): the router calls them, inbound.ts serves them. The
 * directory's own requests to hosts (activate, ping) are defined in
 * @colony/directory and served here too.
 */
export const hostRpcs = {
  /** Append the message to the agent's inbox and (with waitMs) wait for its turn's result. */
  send: defineRpc("agent.send", sendRequestSchema, sendReplySchema),
  /** The agent's live view, if it is active there (never activates). */
  view: defineRpc("agent.get", z.object({}), viewReplySchema),
  /** A page of the agent's live conversation, if it is active there. */
  messages: defineRpc("agent.messages", z.object({ page: z.object({ cursor: z.number().int().nonnegative(), limit: z.number().int().positive() }) }), z.object({ page: messagePageResponseSchema })),
  /** Drop the activation without writing (the agent was deleted). */
  evict: defineRpc("agent.evict", z.object({}), okReplySchema),
  /** A person's decision on a tool call waiting for approval. */
  decide: defineRpc("agent.decide", commandSchema(decideRequestSchema), okReplySchema),
  /** Close a suspended agent's circuit. */
  resume: defineRpc("agent.resume", commandSchema(z.object({})), viewReplySchema),
  /** The host's running totals (turns, tokens, cost, failovers, turn latency buckets), for the console. */
  stats: defineRpc("host.stats", z.object({}), hostStatsSchema),
  ...directoryToHostRpcs,
};
