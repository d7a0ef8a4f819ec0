/**
 * The directory's tunables that hosts and the `colony` CLI read too: the
 * failure-detection defaults, the rules binding them, and the placement
 * strategies' names. No imports, so the CLI's environment parser can load it
 * without the directory itself.
 */

/**
 * How often a host sends a heartbeat. Four a second: cheap on NATS, and it
 * leaves room for three lost beats inside the failure timeout.
 */
export const DEFAULT_HEARTBEAT_MS = 250;

/**
 * How long a host that is silent but still connected (its NATS subscription
 * lives, a probe gets no "no responders") may stay silent before it is
 * declared dead. A crash is confirmed much sooner, by the probe sent at
 * `suspectAfterMs`. Two seconds because both failover bounds meet here: a
 * host frozen by SIGSTOP (or partitioned) must have its agents answering
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

/** The failure-detection timings, in ms. */
export interface DetectionTimings {
  heartbeatMs: number;
  suspectAfterMs?: number | undefined;
  failureTimeoutMs: number;
}

/**
 * The first rule `t` breaks, or null: a failure timeout of at least two
 * heartbeats (or one late beat kills a healthy host), a suspicion no later
 * than the failure timeout. `name` says how to call a setting in the message
 * (an option name for the directory, an environment variable for a process).
 */
export function brokenTimingRule(
  t: DetectionTimings,
  name: (field: keyof DetectionTimings) => string = (f) => f,
): { field: "failureTimeoutMs" | "suspectAfterMs"; message: string } | null {
  if (t.failureTimeoutMs < 2 * t.heartbeatMs) {
    return { field: "failureTimeoutMs", message: `must be at least 2 × ${name("heartbeatMs")} (${2 * t.heartbeatMs} ms), or one late heartbeat kills a healthy host` };
  }
  if (t.suspectAfterMs !== undefined && t.suspectAfterMs > t.failureTimeoutMs) {
    return { field: "suspectAfterMs", message: `must be at most ${name("failureTimeoutMs")} (${t.failureTimeoutMs} ms)` };
  }
  return null;
}

/** The placement strategies a directory can run (COLONY_PLACEMENT). */
export const STRATEGY_NAMES = ["least-loaded", "random", "prefer-local", "consistent-hash"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
export const DEFAULT_STRATEGY: StrategyName = "least-loaded";
