import { z } from "zod";
import { chatMessageSchema, inboxMessageSchema, turnResultSchema } from "@colony/actors";

/** Bodies of the requests hosts send each other on `colony.host.<id>`. */
export const sendRequestSchema = z.object({
  epoch: z.number().int(),
  message: inboxMessageSchema,
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

export const getReplySchema = z.object({ view: z.record(z.string(), z.unknown()) });

/** Body of a HOST.get: empty for the view, `page` for a page of the conversation. */
export const getRequestSchema = z.object({ page: z.object({ cursor: z.number().int().nonnegative(), limit: z.number().int().positive() }).optional() });

export const pageReplySchema = z.object({
  page: z.object({ messages: z.array(chatMessageSchema), start: z.number().int(), total: z.number().int(), nextCursor: z.string().nullable() }),
});
