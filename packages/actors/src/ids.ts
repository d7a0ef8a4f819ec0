import { randomBytes } from "node:crypto";
import { ValidationError } from "./errors.ts";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** `type/key`, the one address of an agent anywhere in the cluster. */
export type AgentId = Brand<string, "AgentId">;
export type AgentType = Brand<string, "AgentType">;
export type AgentKey = Brand<string, "AgentKey">;
export type HostId = Brand<string, "HostId">;
/** Identifies one activation (one life of an agent on one host). */
export type ActivationId = Brand<string, "ActivationId">;
export type MessageId = Brand<string, "MessageId">;

/**
 * The id grammar: `type/key`, type `^[a-z][a-z0-9-]{0,62}$`, key `^[A-Za-z0-9_-]{1,128}$`. Every character allowed here is safe inside a
 * NATS subject token and a Redis key; `.`, `*`, `>` and whitespace are not.
 */
export const AGENT_TYPE_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
export const AGENT_KEY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Host ids, message ids and activation ids use the key grammar too. */
export const TOKEN_PATTERN = AGENT_KEY_PATTERN;

export function isAgentType(value: unknown): value is AgentType {
  return typeof value === "string" && AGENT_TYPE_PATTERN.test(value);
}

export function isAgentKey(value: unknown): value is AgentKey {
  return typeof value === "string" && AGENT_KEY_PATTERN.test(value);
}

function describe(value: unknown): string {
  if (typeof value !== "string") return `a ${value === null ? "null" : typeof value}`;
  return value.length > 40 ? `"${value.slice(0, 40)}…" (${value.length} chars)` : `"${value}"`;
}

export function parseAgentType(value: unknown, field = "type"): AgentType {
  if (isAgentType(value)) return value;
  throw new ValidationError(
    `${field} must match ${AGENT_TYPE_PATTERN.source} (lowercase letter, then up to 62 of a-z 0-9 -); got ${describe(value)}`,
    { field },
  );
}

export function parseAgentKey(value: unknown, field = "key"): AgentKey {
  if (isAgentKey(value)) return value;
  throw new ValidationError(
    `${field} must match ${AGENT_KEY_PATTERN.source} (1 to 128 of A-Z a-z 0-9 _ -); got ${describe(value)}`,
    { field },
  );
}

export function agentId(type: AgentType, key: AgentKey): AgentId {
  return `${type}/${key}` as AgentId;
}

/** Parses `type/key`, rejecting anything outside the grammar. */
export function parseAgentId(value: unknown, field = "id"): AgentId {
  if (typeof value !== "string") throw new ValidationError(`${field} must be a string "type/key"`, { field });
  const slash = value.indexOf("/");
  if (slash < 0) throw new ValidationError(`${field} must be "type/key"; got ${describe(value)}`, { field });
  const type = parseAgentType(value.slice(0, slash), `${field} type`);
  const key = parseAgentKey(value.slice(slash + 1), `${field} key`);
  return agentId(type, key);
}

export function splitAgentId(id: AgentId): { type: AgentType; key: AgentKey } {
  const slash = id.indexOf("/");
  return { type: id.slice(0, slash) as AgentType, key: id.slice(slash + 1) as AgentKey };
}

export function parseToken<T extends HostId | MessageId | ActivationId>(value: unknown, field: string): T {
  if (typeof value === "string" && TOKEN_PATTERN.test(value)) return value as T;
  throw new ValidationError(`${field} must match ${TOKEN_PATTERN.source}; got ${describe(value)}`, { field });
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// One crypto call per 4 KiB of randomness instead of one per id: ids are minted per message.
let pool = randomBytes(4096);
let poolAt = 0;

/** A random token from the key alphabet; 16 chars carry ~95 bits. */
export function randomToken(length = 16): string {
  let out = "";
  // 248 = 4 × 62: bytes at or above it would bias the alphabet, so they are skipped.
  while (out.length < length) {
    if (poolAt >= pool.length) {
      pool = randomBytes(4096);
      poolAt = 0;
    }
    const b = pool[poolAt++]!;
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}

/**
 * Message ids sort by acceptance time within a process (a millisecond prefix)
 * and stay unique across hosts (a random suffix).
 */
export function newMessageId(now = Date.now()): MessageId {
  return `m${now.toString(36)}${randomToken(10)}` as MessageId;
}

export function newActivationId(): ActivationId {
  return `a${randomToken(12)}` as ActivationId;
}

export function newAgentKey(): AgentKey {
  return randomToken(16) as AgentKey;
}
