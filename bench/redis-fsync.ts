import { Redis } from "ioredis";
import { waitFor } from "../test/harness/wait.ts";

/**
 * Runs `work` while the Redis at `url` keeps an append-only file and fsyncs
 * it on every write (`appendonly yes`, `appendfsync always`: a write is on
 * disk before its reply, as a durable runtime that fsyncs every call), then
 * puts both settings back. Turning the AOF on at runtime first rewrites it in
 * the background; writes are fsynced only once that is done, so `work`
 * starts after it.
 */
export async function withFsyncAlways<T>(url: string, work: () => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const before = { appendonly: await setting(redis, "appendonly"), appendfsync: await setting(redis, "appendfsync") };
    await redis.config("SET", "appendfsync", "always");
    await redis.config("SET", "appendonly", "yes");
    try {
      await waitFor(
        async () => {
          const info = await redis.info("persistence");
          return /^aof_enabled:1\r?$/m.test(info) && /^aof_rewrite_in_progress:0\r?$/m.test(info) && /^aof_rewrite_scheduled:0\r?$/m.test(info);
        },
        { timeoutMs: 60_000, intervalMs: 50, message: "Redis to finish its first AOF rewrite" },
      );
      return await work();
    } finally {
      await redis.config("SET", "appendonly", before.appendonly);
      await redis.config("SET", "appendfsync", before.appendfsync);
    }
  } finally {
    redis.disconnect();
  }
}

async function setting(redis: Redis, name: string): Promise<string> {
  const [, value] = (await redis.config("GET", name)) as [string, string];
  return value;
}
