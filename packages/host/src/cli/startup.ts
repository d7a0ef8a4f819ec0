import type { RedisClient } from "@colony/actors";
import type { Logger, NatsTransportOptions } from "@colony/actors";
import { NatsTransport, errorMessage, redactUrls, withTimeout } from "@colony/actors";
import type { HostConfig } from "../config.ts";

/** A process cannot start for a reason the operator must fix; its message is the one line printed (no stack). */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Pause between connection attempts at start. */
const ATTEMPT_PAUSE_MS = 500;
/** One attempt's own bound, so a black-holed address still leaves time for the next. */
const ATTEMPT_TIMEOUT_MS = 2_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `attempt` until it succeeds or `timeoutMs` passed, logging every
 * attempt; then throws a StartupError naming `variable` (with its value,
 * password masked) and the last failure.
 */
async function retryUntilDeadline<T>(
  what: { name: string; variable: string; value: string; timeoutMs: number },
  logger: Logger,
  attempt: (timeoutMs: number) => Promise<T>,
): Promise<T> {
  const deadline = performance.now() + what.timeoutMs;
  const shown = JSON.stringify(redactUrls(what.value));
  let last: unknown;
  for (let n = 1; ; n++) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    logger.info({ attempt: n, [what.variable]: redactUrls(what.value) }, `connecting to ${what.name}`);
    try {
      return await attempt(Math.min(ATTEMPT_TIMEOUT_MS, left));
    } catch (e) {
      last = e;
      logger.warn({ attempt: n, [what.variable]: redactUrls(what.value), err: redactUrls(errorMessage(e)) }, `${what.name} unreachable; retrying`);
    }
    await sleep(Math.min(ATTEMPT_PAUSE_MS, Math.max(0, deadline - performance.now())));
  }
  throw new StartupError(
    `${what.variable}=${shown}: ${what.name} unreachable for ${what.timeoutMs} ms (COLONY_CONNECT_TIMEOUT_MS)${last === undefined ? "" : `: ${redactUrls(errorMessage(last))}`}`,
  );
}

/** Connects to NATS_URL, retrying until COLONY_CONNECT_TIMEOUT_MS; once connected, the transport reconnects by itself forever. */
export function connectNats(config: HostConfig, logger: Logger, opts: Omit<NatsTransportOptions, "servers" | "logger">): Promise<NatsTransport> {
  const value = config.natsUrl!;
  const servers = value.split(",").map((s) => s.trim());
  return retryUntilDeadline({ name: "NATS", variable: "NATS_URL", value, timeoutMs: config.connectTimeoutMs }, logger, (timeoutMs) =>
    NatsTransport.connect({ ...opts, servers, logger, waitOnFirstConnect: false, connectTimeoutMs: timeoutMs }),
  );
}

/** Waits until REDIS_URL answers a PING, retrying until COLONY_CONNECT_TIMEOUT_MS (ioredis keeps reconnecting meanwhile). */
export async function awaitRedis(redis: RedisClient, config: HostConfig, logger: Logger): Promise<void> {
  // The connection's own error (ECONNREFUSED …) says more than the rejected PING ("max retries per request").
  let connectionError: unknown;
  const onError = (e: unknown) => (connectionError = e);
  redis.on("error", onError);
  try {
    await retryUntilDeadline({ name: "Redis", variable: "REDIS_URL", value: config.redisUrl!, timeoutMs: config.connectTimeoutMs }, logger, async (timeoutMs) => {
      connectionError = undefined;
      try {
        await withTimeout(redis.ping(), timeoutMs, () => {
          throw new Error(`no answer within ${timeoutMs} ms`);
        });
      } catch (e) {
        throw connectionError ?? e;
      }
    });
  } finally {
    redis.off("error", onError);
  }
}

/** "Redis is unreachable" if any of these connections is not ready, else undefined: for /readyz. */
export function redisReadiness(connections: readonly RedisClient[]): () => string | undefined {
  return () => (connections.every((r) => r.status === "ready") ? undefined : "Redis is unreachable");
}

/**
 * The one line for a failure to start that the operator must fix (bad or
 * unreachable configuration, a port taken), or undefined for a bug (which
 * keeps its stack trace).
 */
export function startupFailure(e: unknown, config: Pick<HostConfig, "httpHost" | "httpPort">): string | undefined {
  if (e instanceof StartupError) return e.message;
  const code = (e as { code?: unknown } | undefined)?.code;
  if (code === "EADDRINUSE") return `COLONY_HTTP_PORT=${config.httpPort}: port ${config.httpPort} on ${config.httpHost} is already in use`;
  if (code === "EACCES") return `COLONY_HTTP_PORT=${config.httpPort}: not allowed to listen on port ${config.httpPort} on ${config.httpHost}`;
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") return `COLONY_HTTP_HOST=${config.httpHost}: not an address of this machine`;
  return undefined;
}
