import { z } from "zod";
import { ValidationError } from "@colony/actors";

/** Request bodies above this size get 413 before they are parsed. */
export const MAX_BODY_BYTES = 256 * 1024;
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

export const decisionBodySchema = z.strictObject({
  approve: z.boolean(),
  reason: z.string().max(2000).optional(),
});

export const listQuerySchema = z.strictObject({
  type: z.string().optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
});

/** Parses with a schema, turning the first issue into a ValidationError naming its field. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    const field = [...path, issue.keys[0]!].join(".");
    throw new ValidationError(`${where}: unknown field "${field}"`, { field });
  }
  const field = path.join(".") || where;
  throw new ValidationError(`${where}: ${field}: ${issue.message}`, { field });
}
