import { ValidationError } from "@colony/actors";
import { DEFAULT_FAILURE_TIMEOUT_MS, DEFAULT_HEARTBEAT_MS, DEFAULT_SUSPECT_AFTER_HEARTBEATS, brokenTimingRule } from "../settings.ts";

export { DEFAULT_FAILURE_TIMEOUT_MS, DEFAULT_HEARTBEAT_MS, DEFAULT_SUSPECT_AFTER_HEARTBEATS };

/** How long `all()` keeps reporting a dead or departed host before forgetting it. */
export const DEFAULT_DEAD_RETENTION_MS = 60_000;

export interface MembershipOptions {
  /** The hosts' heartbeat interval, in ms. Default {@link DEFAULT_HEARTBEAT_MS}. */
  heartbeatMs: number;
  /** Silence after which a host is suspected and probed, in ms; default {@link DEFAULT_SUSPECT_AFTER_HEARTBEATS} heartbeats (capped at failureTimeoutMs). */
  suspectAfterMs: number;
  /** Silence after which a host that still answers no probe is dead, in ms; at least 2 × heartbeatMs and suspectAfterMs. Default {@link DEFAULT_FAILURE_TIMEOUT_MS}. */
  failureTimeoutMs: number;
  /** How long dead and departed hosts stay listed by `all()`, in ms. Default {@link DEFAULT_DEAD_RETENTION_MS}. */
  deadRetentionMs: number;
}

const KNOWN: readonly (keyof MembershipOptions)[] = ["heartbeatMs", "suspectAfterMs", "failureTimeoutMs", "deadRetentionMs"];

function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function fail(field: string, message: string, value: unknown): never {
  throw new ValidationError(`membership option ${field} ${message}; got ${show(value)}`, { field, value });
}

function integer(field: keyof MembershipOptions, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) fail(field, "must be an integer number of milliseconds", value);
  if (value < min) fail(field, `must be at least ${min}`, value);
  return value;
}

/**
 * Defaults, then `overrides`, validated. Throws a ValidationError naming the
 * option and its value (`details.field`) for a bad or unknown option.
 */
export function parseMembershipOptions(overrides: Partial<MembershipOptions> = {}): MembershipOptions {
  for (const name of Object.keys(overrides)) {
    if (!(KNOWN as readonly string[]).includes(name)) fail(name, `is not a membership option (known: ${KNOWN.join(", ")})`, (overrides as Record<string, unknown>)[name]);
  }
  const pick = <K extends keyof MembershipOptions>(k: K, d: number) => (overrides[k] === undefined ? d : overrides[k]);
  const heartbeatMs = integer("heartbeatMs", pick("heartbeatMs", DEFAULT_HEARTBEAT_MS), 1);
  const failureTimeoutMs = integer("failureTimeoutMs", pick("failureTimeoutMs", DEFAULT_FAILURE_TIMEOUT_MS), 1);
  const early = brokenTimingRule({ heartbeatMs, failureTimeoutMs });
  if (early) fail(early.field, early.message, failureTimeoutMs);
  const suspectAfterMs = integer("suspectAfterMs", pick("suspectAfterMs", Math.min(DEFAULT_SUSPECT_AFTER_HEARTBEATS * heartbeatMs, failureTimeoutMs)), heartbeatMs);
  const late = brokenTimingRule({ heartbeatMs, suspectAfterMs, failureTimeoutMs });
  if (late) fail(late.field, late.message, suspectAfterMs);
  const deadRetentionMs = integer("deadRetentionMs", pick("deadRetentionMs", DEFAULT_DEAD_RETENTION_MS), 0);
  return { heartbeatMs, suspectAfterMs, failureTimeoutMs, deadRetentionMs };
}
