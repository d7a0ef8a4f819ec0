/**
 * Colony's Redis connections against a real redis-server that goes away:
 * commands fail fast with an error classified as "unreachable" (503), a
 * Redis error reply is not, and the connection comes back by itself.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { REDIS_RETRY_AFTER_MS, UnavailableError, asRedisUnavailable, isRedisUnreachable, redisOptions } from "@colony/actors";
import { startRedis } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

describe("Colony's Redis connection settings", () => {
  it("fail commands fast while Redis is down, as unavailable, and reconnect by themselves when it returns", async () => {
    await using server = await startRedis({ useEnv: false });
    const redis = new Redis(server.url, redisOptions());
    redis.on("error", () => undefined);
    try {
      await redis.set("k", "v");
      const reply = await redis.incr("k").catch((e: unknown) => e);
      expect(isRedisUnreachable(reply), "an error reply is Redis answering").toBe(false);
      expect(asRedisUnavailable(reply)).toBe(reply);

      await server.kill();
      for (let i = 0; i < 3; i++) {
        const start = Date.now();
        const err = await redis.get("k").catch((e: unknown) => e);
        expect(Date.now() - start).toBeLessThan(2_000);
        expect(isRedisUnreachable(err), String(err)).toBe(true);
        const mapped = asRedisUnavailable(err);
        expect(mapped).toBeInstanceOf(UnavailableError);
        expect((mapped as UnavailableError).retryAfterMs).toBe(REDIS_RETRY_AFTER_MS);
      }

      await server.restart();
      await waitFor(async () => (await redis.ping().catch(() => null)) === "PONG", { timeoutMs: 10_000, message: "the connection to come back" });
    } finally {
      redis.disconnect();
    }
  });

  it("classifies a pipelined command aborted by a closed connection (its outcome unknown) as unavailable", async () => {
    await using server = await startRedis({ useEnv: false });
    const redis = new Redis(server.url, redisOptions());
    redis.on("error", () => undefined);
    try {
      const id = await redis.client("ID");
      // The connection closes after the CLIENT KILL reply: ioredis aborts the rest of the pipeline (as when a master dies under load).
      const results = await redis.pipeline().ping().call("CLIENT", "KILL", "ID", String(id), "SKIPME", "no").get("k").exec();
      const err = results?.[2]?.[0];
      expect(String(err)).toMatch(/Command aborted due to connection close/);
      expect(isRedisUnreachable(err), String(err)).toBe(true);
      expect(asRedisUnavailable(err)).toBeInstanceOf(UnavailableError);
    } finally {
      redis.disconnect();
    }
  });
});
