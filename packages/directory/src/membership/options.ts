import { ValidationError } from "@colony/actors";

/**
 * How often a host sends a heartbeat. Four a second: cheap on NATS, and it
 * leaves room for three lost beats inside the failure timeout.
 */
export const DEFAULT_HEARTBEAT_MS = 250;

/**
 * How long a host may stay silent before the directory declares it dead.
 * Failover must complete within 2 s of a SIGKILL: a host is declared dead at
 * most `failureTimeoutMs` after its last heartbeat (plus the caller's sweep
 * interval), which leaves about a second to re-place its agents.
 */
export const DEFAULT_FAILURE_TIMEOUT_MS = 1_000;

/** How long `all()` keeps reporting a dead or departed host before forgetting it. */
export const DEFAULT_DEAD_RETENTION_MS = 60_000;

export interface MembershipOptions {
  /** The hosts' heartbeat interval, in ms. Default {@link DEFAULT_HEARTBEAT_MS}. */
  heartbeatMs: number;
  /** Silence after which a host is dead, in ms; at least 2 × heartbeatMs. Default {@link DEFAULT_FAILURE_TIMEOUT_MS}. */
  failureTimeoutMs: number;
  /** How long dead and departed hosts stay listed by `all()`, in ms. Default {@link DEFAULT_DEAD_RETENTION_MS}. */
  deadRetentionMs: number;
}

const KNOWN: readonly (keyof MembershipOptions)[] = ["heartbeatMs", "failureTimeoutMs", "deadRetentionMs"];

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
  if (failureTimeoutMs < 2 * heartbeatMs) {
    fail("failureTimeoutMs", `must be at least 2 × heartbeatMs (${2 * heartbeatMs} ms), or one late heartbeat kills a healthy host`, failureTimeoutMs);
  }
  const deadRetentionMs = integer("deadRetentionMs", pick("deadRetentionMs", DEFAULT_DEAD_RETENTION_MS), 0);
  return { heartbeatMs, failureTimeoutMs, deadRetentionMs };
}
