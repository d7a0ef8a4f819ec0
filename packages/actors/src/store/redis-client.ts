import { Cluster, Redis } from "ioredis";
import type { ClusterOptions, RedisOptions } from "ioredis";
import { UnavailableError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { redactUrls } from "../redact.ts";
import type { RedisTarget } from "./redis-url.ts";
import { parseRedisUrl } from "./redis-url.ts";

/**
 * What every Redis-backed store takes: one redis-server (or a Sentinel-found
 * master, also a `Redis`) or a Redis Cluster. Everything Colony sends either
 * names keys of one agent (one hash tag, one slot) or one global key, so
 * both run the same commands.
 */
export type RedisClient = Redis | Cluster;

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
 *
 * No auto-pipelining: each command is written when it is issued. ioredis
 * builds a Pipeline per batch and sends it from a setImmediate, so a lone
 * command (a sequential message's append, then its commit) waited for the
 * event loop's check phase and paid for a pipeline of one. Measured side by
 * side with it on (3 hosts, 32 callers on each of two clusters at once):
 * 5–12% more durable messages/s at 14% less host CPU per message, and the
 * sequential cross-host round trip 5–7% faster at p50, 35–46% at p99.
 */
export function redisOptions(): RedisOptions {
  return {
    enableAutoPipelining: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * attempt, RECONNECT_MAX_MS),
    commandTimeout: COMMAND_TIMEOUT_MS,
  };
}

/**
 * Redis Cluster settings on top of redisOptions(): no offline queue (a
 * cluster that is not ready fails the command at once, so the API answers
 * 503 as with one server), slots re-read soon after a lost master, and the
 * whole cluster reconnected by the same backoff. A node that dropped is not
 * reconnected: ioredis re-reads the slots and follows MOVED to the promoted
 * replica, retrying a command every 100 ms up to 16 times meanwhile.
 */
export function clusterOptions(target: Extract<RedisTarget, { kind: "cluster" }>, name: string): ClusterOptions {
  const { retryStrategy, ...node } = redisOptions();
  const creds = { ...(target.username !== undefined && { username: target.username }), ...(target.password !== undefined && { password: target.password }) };
  return {
    enableOfflineQueue: false,
    // Not on a cluster: ioredis batches auto-pipelined commands per node and
    // handles a MOVED reply for the whole batch, so after a failover or a slot
    // move the moved slot's commands keep failing (redis/ioredis#2075; our
    // harness test saw MOVED for 20 s after a promotion). Each command goes
    // alone and follows its own redirection.
    enableAutoPipelining: false,
    clusterRetryStrategy: retryStrategy,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    slotsRefreshTimeout: 2_000,
    redisOptions: { ...node, enableAutoPipelining: false, ...creds, connectionName: name, ...(target.tls && { tls: {} }) },
  };
}

/** A client for what REDIS_URL names (see redis-url.ts), with redisOptions(). */
function clientFor(target: RedisTarget, name: string): RedisClient {
  switch (target.kind) {
    case "single":
      return new Redis(target.url, { ...redisOptions(), connectionName: name });
    case "cluster":
      return new Cluster(target.nodes, clusterOptions(target, name));
    case "sentinel": {
      const { kind: _, sentinels, tls, ...rest } = target;
      return new Redis({
        ...redisOptions(),
        ...rest,
        sentinels,
        connectionName: name,
        // Not ioredis's failoverDetector: a +switch-master that arrives while a
        // reconnection is asking the sentinels ends the client for good
        // ("Connection is closed." on every command; seen when a master was
        // SIGKILLed under load). A dead master's connection drops and is
        // re-resolved through the sentinels by retryStrategy; a demoted one
        // that stays up answers READONLY, which reconnects (that command gets
        // a 503 and is retried by its caller).
        failoverDetector: false,
        reconnectOnError: (err: Error) => (/^READONLY\b/.test(err.message) ? 1 : false),
        sentinelRetryStrategy: redisOptions().retryStrategy!,
        ...(tls && { tls: {}, enableTLSForSentinelMode: true }),
      });
    }
  }
}

/**
 * A connection with redisOptions() to what `url` names (one server, a
 * Cluster, a Sentinel set), logging when Redis is lost and back (once each,
 * not per attempt).
 */
export function connectRedis(url: string, logger: Logger, name: string): RedisClient {
  const redis = clientFor(parseRedisUrl(url), name);
  let down = false;
  const lost = (err: string) => {
    if (down) return;
    down = true;
    logger.warn({ redis: name, err }, "redis unreachable; requests answer 503 until it is back");
  };
  const back = () => {
    if (!down) return;
    down = false;
    logger.info({ redis: name }, "redis reachable again");
  };
  // "error" needs a listener in any case (ioredis would print it raw); a
  // dropped connection whose first reconnection succeeds emits no error, only
  // "reconnecting" (never emitted for our own quit at shutdown).
  redis.on("error", (e: unknown) => lost(redactUrls(errorMessage(e))));
  redis.on("reconnecting", () => lost("connection lost"));
  redis.on("ready", back);
  if (redis instanceof Cluster) watchClusterNodes(redis, lost, back);
  return redis;
}

/**
 * A Cluster loses one master at a time: lost on a node's error, back once
 * the slots, re-read, no longer name a failed node as a master (its replica
 * took over) or its connection is ready again.
 */
function watchClusterNodes(cluster: Cluster, lost: (err: string) => void, back: () => void): void {
  const failed = new Set<string>();
  cluster.on("node error", (e: unknown, node: unknown) => {
    failed.add(String(node));
    lost(`${String(node)}: ${redactUrls(errorMessage(e))}`);
  });
  cluster.on("refresh", () => {
    const masters = new Map(cluster.nodes("master").map((r) => [`${r.options.host}:${r.options.port}`, r.status]));
    for (const node of failed) if (!masters.has(node) || masters.get(node) === "ready") failed.delete(node);
    if (failed.size === 0) back();
  });
}

/**
 * A write Redis applied but fewer replicas than COLONY_REDIS_WAIT_REPLICAS
 * confirmed within the timeout: a failover now could lose it, so it is not
 * acknowledged (503, retry; every write is safe to run twice).
 */
export class NotReplicatedError extends Error {
  override name = "NotReplicatedError";
  constructor(readonly wanted: number, readonly acked: number) {
    super(`write reached ${acked} of ${wanted} replicas in time`);
  }
}

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTCONN", "ECONNABORTED"]);
const UNREACHABLE_MESSAGES = [
  /^Connection is closed/,
  /^Stream isn't writeable/,
  /^Command timed out/,
  /^Reached the max retries per request limit/,
  // The connection closed after part of a pipeline (a MULTI) was answered: ioredis does not resend the rest (a master killed under load).
  /^Command aborted due to connection close/,
  // A Redis Cluster while a master is lost, before its replica is promoted and the slots re-read:
  /^Too many Cluster redirections/,
  /^Cluster isn't ready/,
  /^Failed to refresh slots cache/,
  /^None of startup nodes is available/,
  // A Sentinel set while no sentinel answers or none knows the master:
  /^All sentinels are unreachable/,
];
/** Error replies of a Redis that is up but cannot serve yet (restarting from its dump, failing over; a redirection ioredis did not follow). */
const NOT_READY_REPLIES = /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|MOVED|ASK)\b/;

/**
 * True if `e` means the command did not get an answer from a working Redis
 * (no connection, timed out, Redis still loading): the outcome is unknown
 * and the request can be retried. False for Redis's answers (a script's
 * error, OOM, WRONGTYPE), which retrying as is will not fix.
 */
export function isRedisUnreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === "MaxRetriesPerRequestError" || e instanceof NotReplicatedError) return true;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return true;
  return UNREACHABLE_MESSAGES.some((re) => re.test(e.message)) || NOT_READY_REPLIES.test(e.message);
}

/** `e` as an UnavailableError (503 with Retry-After) if Redis was unreachable; anything else unchanged. */
export function asRedisUnavailable(e: unknown): unknown {
  if (!isRedisUnreachable(e)) return e;
  // Redis answered, but too few replicas confirmed in time: say so, an operator looks at replication rather than the network.
  const what = e instanceof NotReplicatedError ? `the store's (Redis) ${e.message} (COLONY_REDIS_WAIT_REPLICAS=${e.wanted})` : "the store (Redis) is unreachable";
  return new UnavailableError(`${what}; nothing was acknowledged, retry later`, { cause: e, retryAfterMs: REDIS_RETRY_AFTER_MS });
}
