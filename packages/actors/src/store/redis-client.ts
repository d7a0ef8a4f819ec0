import { Redis } from "ioredis";
import type { RedisOptions } from "ioredis";
import { UnavailableError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { redactUrls } from "../redact.ts";

/** What a request refused while Redis is unreachable tells the client to wait before retrying. */
export const REDIS_RETRY_AFTER_MS = 1_000;
/** Longest wait between reconnection attempts: Redis is back in use within this of returning. */
const RECONNECT_MAX_MS = 250;
/** A Redis that accepts the connection but does not answer (stopped, partitioned) fails a command after this. */
const COMMAND_TIMEOUT_MS = 5_000;

/**
 * ioredis settings for every Colony connection: fail fast while Redis is
 * unreachable, reconnect by itself. ioredis's `maxRetriesPerRequest: null`
 * would queue commands for the whole outage (requests hang); with 1, a
 * command waiting for a connection is rejected after the second failed
 * reconnection attempt (~0.1-0.5 s), so the API answers 503 and the client
 * retries. A command in flight when the connection dropped is resent if the
 * connection is back by the first attempt, else rejected: either way its
 * outcome is unknown to the caller, which is why every script must be safe
 * to run twice and why a 503 means "not acknowledged, retry".
 */
export function redisOptions(): RedisOptions {
  return {
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * attempt, RECONNECT_MAX_MS),
    commandTimeout: COMMAND_TIMEOUT_MS,
  };
}

/** A connection with redisOptions(), logging when Redis is lost and back (once each, not per attempt). */
export function connectRedis(url: string, logger: Logger, name: string): Redis {
  const redis = new Redis(url, { ...redisOptions(), connectionName: name });
  let down = false;
  const lost = (err: string) => {
    if (down) return;
    down = true;
    logger.warn({ redis: name, err }, "redis unreachable; requests answer 503 until it is back");
  };
  // "error" needs a listener in any case (ioredis would print it raw); a
  // dropped connection whose first reconnection succeeds emits no error, only
  // "reconnecting" (never emitted for our own quit at shutdown).
  redis.on("error", (e: unknown) => lost(redactUrls(errorMessage(e))));
  redis.on("reconnecting", () => lost("connection lost"));
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info({ redis: name }, "redis reachable again");
  });
  return redis;
}

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTCONN", "ECONNABORTED"]);
const UNREACHABLE_MESSAGES = [/^Connection is closed/, /^Stream isn't writeable/, /^Command timed out/, /^Reached the max retries per request limit/];
/** Error replies of a Redis that is up but cannot serve yet (restarting from its dump, failing over). */
const NOT_READY_REPLIES = /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * True if `e` means the command did not get an answer from a working Redis
 * (no connection, timed out, Redis still loading): the outcome is unknown
 * and the request can be retried. False for Redis's answers (a script's
 * error, OOM, WRONGTYPE), which retrying as is will not fix.
 */
export function isRedisUnreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === "MaxRetriesPerRequestError") return true;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return true;
  return UNREACHABLE_MESSAGES.some((re) => re.test(e.message)) || NOT_READY_REPLIES.test(e.message);
}

/** `e` as an UnavailableError (503 with Retry-After) if Redis was unreachable; anything else unchanged. */
export function asRedisUnavailable(e: unknown): unknown {
  if (!isRedisUnreachable(e)) return e;
  return new UnavailableError("the store (Redis) is unreachable; nothing was acknowledged, retry later", { cause: e, retryAfterMs: REDIS_RETRY_AFTER_MS });
}
