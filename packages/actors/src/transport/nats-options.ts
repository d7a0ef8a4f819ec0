import type { TransportOptions } from "./shared.ts";

/** Pause between reconnect attempts: a restarted server is found within ~¼ s (plus up to 100 ms jitter). */
export const DEFAULT_RECONNECT_TIME_WAIT_MS = 250;
/** Client pings: a silently dead connection is noticed after about 2 × this (nats.js default: 2 minutes). */
export const DEFAULT_PING_INTERVAL_MS = 10_000;

export interface NatsTransportOptions extends TransportOptions {
  /** One URL or several, e.g. "nats://127.0.0.1:4222" (NATS_URL may be a comma-separated list). */
  servers: string | string[];
  /** This process (host id or "directory"): the NATS client name and the `from` of its replies. */
  name: string;
  /** Default DEFAULT_RECONNECT_TIME_WAIT_MS (250 ms). */
  reconnectTimeWaitMs?: number;
  /** Default DEFAULT_PING_INTERVAL_MS (10 s). */
  pingIntervalMs?: number;
  /**
   * Default true: connect() waits, retrying, until the first server answers,
   * so a host may start before NATS (docker compose ordering). With false it
   * rejects with UnavailableError when no server answers.
   */
  waitOnFirstConnect?: boolean;
  /** One connection attempt gives up after this (nats.js `timeout`, default 20 s). */
  connectTimeoutMs?: number;
}
