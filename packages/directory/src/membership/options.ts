import { ValidationError } from "@colony/actors";

/**
 * How often a host sends a heartbeat. Four a second: cheap on NATS, and it
 * leaves room for three lost beats inside the failure timeout.
 */
export const DEFAULT_HEARTBEAT_MS = 250;

/**
 * How long a host that is silent but still connected (its NATS subscription
 * lives, a probe gets no "no responders") may stay silent before it is
 * declared dead. A crash is confirmed much sooner, by the probe sent at
 * `suspectAfterMs`. Two seconds because both bounds of guarantee 8 meet here:
 * a host frozen by SIGSTOP (or partitioned) must have its agents answering
 * elsewhere within 3 s of the freeze, which leaves ~1 s for the failover and
 * the clients' retries; and a host whose event loop blocks for 1.5 s (a GC
 * pause, a big JSON parse) must not be failed over: its last beat can be up
 * to one heartbeat (250 ms) older than the block, so it is silent ≤ 1.75 s.
 */
export const DEFAULT_FAILURE_TIMEOUT_MS = 2_000;

/**
 * Silence after which a host is suspected and probed (a NATS request to its
 * subject): two missed heartbeats. "No responders" means its connection is
 * gone (the process crashed): dead at once, so a SIGKILL fails over within
 * ~1 s. A suspected host gets no new placements.
 */
export const DEFAULT_SUSPECT_AFTER_HEARTBEATS = 2;

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
  if (failureTimeoutMs < 2 * heartbeatMs) {
    fail("failureTimeoutMs", `must be at least 2 × heartbeatMs (${2 * heartbeatMs} ms), or one late heartbeat kills a healthy host`, failureTimeoutMs);
  }
  const suspectAfterMs = integer("suspectAfterMs", pick("suspectAfterMs", Math.min(DEFAULT_SUSPECT_AFTER_HEARTBEATS * heartbeatMs, failureTimeoutMs)), heartbeatMs);
  if (suspectAfterMs > failureTimeoutMs) fail("suspectAfterMs", `must be at most failureTimeoutMs (${failureTimeoutMs} ms)`, suspectAfterMs);
  const deadRetentionMs = integer("deadRetentionMs", pick("deadRetentionMs", DEFAULT_DEAD_RETENTION_MS), 0);
  return { heartbeatMs, suspectAfterMs, failureTimeoutMs, deadRetentionMs };
}
