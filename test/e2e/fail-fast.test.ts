/**
 * Issue 12, "processes that fail fast and tell the truth": a bad or
 * unreachable NATS_URL / REDIS_URL, a port in use or a short admin token
 * stop the process with exit 2 and one line naming the variable, secrets
 * never shown; readiness follows NATS and Redis. Real `colony` processes,
 * real servers from the harness.
 */
import { createServer } from "node:net";
import type { Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { colony, closedPort } from "../harness/cli.ts";
import type { CliRun } from "../harness/cli.ts";
import { startColony } from "../harness/colony-process.ts";
import type { NatsServer, RedisServer } from "../harness/servers.ts";
import { startNats, startRedis } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

/** The one line a failed start prints, and that every stdout line is a JSON log line. */
function failedStart(run: CliRun): string {
  expect(run.code).toBe(2);
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  for (const line of run.stdout.split("\n").filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  return lines[0]!;
}

const logLines = (run: CliRun) => run.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe("a process with a bad or unreachable dependency stops with one line naming the variable", { timeout: 120_000 }, () => {
  let nats: NatsServer;
  let redis: RedisServer;
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("NATS_URL without a nats:// or tls:// scheme", async () => {
    const line = failedStart(await colony(["host"], { NATS_URL: "nonsense", REDIS_URL: redis.url }));
    expect(line).toMatch(/^colony host: invalid environment: NATS_URL="nonsense": must be nats:\/\/ or tls:\/\//);
  });

  it("REDIS_URL without a redis:// or rediss:// scheme", async () => {
    const line = failedStart(await colony(["directory"], { NATS_URL: nats.url, REDIS_URL: "http://127.0.0.1:6379" }));
    expect(line).toMatch(/REDIS_URL="http:\/\/127.0.0.1:6379": must be a redis:\/\/ or rediss:\/\/ URL/);
  });

  it("a NATS that cannot be reached: each attempt logged, exit 2 within COLONY_CONNECT_TIMEOUT_MS, its password never shown", async () => {
    const port = await closedPort();
    const start = Date.now();
    const run = await colony(["host"], { NATS_URL: `nats://colony:natspass99@127.0.0.1:${port}`, REDIS_URL: redis.url, COLONY_CONNECT_TIMEOUT_MS: "1500" });
    const tookMs = Date.now() - start;
    const line = failedStart(run);
    expect(line.startsWith(`colony host: NATS_URL="nats://colony:***@127.0.0.1:${port}": NATS unreachable for 1500 ms (COLONY_CONNECT_TIMEOUT_MS)`)).toBe(true);
    expect(run.stdout + run.stderr).not.toContain("natspass99");
    expect(logLines(run).filter((l) => l.msg === "connecting to NATS").length).toBeGreaterThanOrEqual(2);
    // 1.5 s of attempts plus the process's start (slow on a loaded machine): bounded, not forever.
    expect(tookMs).toBeLessThan(30_000);
  });

  it("a Redis that cannot be reached: exit 2 naming REDIS_URL, its password never shown, every line JSON", async () => {
    const url = `redis://:hunter2secret@127.0.0.1:${await closedPort()}`;
    const run = await colony(["host"], { NATS_URL: nats.url, REDIS_URL: url, COLONY_CONNECT_TIMEOUT_MS: "1500" });
    const line = failedStart(run);
    expect(line).toMatch(/^colony host: REDIS_URL="redis:\/\/:\*\*\*@127.0.0.1:\d+": Redis unreachable for 1500 ms/);
    expect(logLines(run).filter((l) => l.msg === "connecting to Redis").length).toBeGreaterThanOrEqual(2);
    expect(run.stdout + run.stderr).not.toContain("hunter2secret");
    expect(run.stderr).not.toContain("[ioredis]");
  });

  it("a port in use: one line naming COLONY_HTTP_PORT and the port, no stack trace", async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const { port } = taken.address() as { port: number };
    try {
      for (const args of [["dev"], ["host"]]) {
        const line = failedStart(await colony(args, { NATS_URL: nats.url, REDIS_URL: redis.url, COLONY_HTTP_PORT: String(port) }));
        expect(line).toBe(`colony ${args[0]}: COLONY_HTTP_PORT=${port}: port ${port} on 127.0.0.1 is already in use`);
      }
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });

  it("a short COLONY_ADMIN_TOKEN is refused by its length, never echoed", async () => {
    const run = await colony(["dev"], { COLONY_ADMIN_TOKEN: "shortsecret" });
    const line = failedStart(run);
    expect(line).toContain("COLONY_ADMIN_TOKEN=(11 characters, not shown): must be at least 16 characters");
    expect(run.stdout + run.stderr).not.toContain("shortsecret");
  });
});

describe("readiness follows NATS and Redis", { timeout: 180_000 }, () => {
  it("/readyz answers 503 naming what is unreachable while Redis or NATS is down, 200 once back", async () => {
    await using nats = await startNats({ useEnv: false });
    await using redis = await startRedis({ useEnv: false });
    const env = { NATS_URL: nats.url, REDIS_URL: redis.url };
    await using dir = await startColony(["directory"], env);
    await using host = await startColony(["host"], env);
    const readyz = async (base: string) => {
      const res = await fetch(`${base}/readyz`);
      return { status: res.status, body: (await res.json()) as { error?: { message: string } } };
    };
    const until = async (base: string, status: number, message?: string) =>
      waitFor(async () => {
        const r = await readyz(base);
        return r.status === status && (message === undefined || r.body.error?.message === message);
      }, { timeoutMs: 30_000, message: `${base}/readyz to answer ${status} ${message ?? ""}` });
    await until(host.url, 200);
    await until(dir.url, 200);

    await redis.kill();
    await until(host.url, 503, "Redis is unreachable");
    await until(dir.url, 503, "Redis is unreachable");
    await redis.restart();
    await until(host.url, 200);
    await until(dir.url, 200);

    await nats.kill();
    await until(host.url, 503, "NATS is unreachable");
    await until(dir.url, 503, "NATS is unreachable");
    await nats.restart();
    await until(host.url, 200);
    await until(dir.url, 200);

    // Lost and back, logged as JSON; nothing else on stderr.
    expect(host.logs.some((l) => l.msg === "redis unreachable; requests answer 503 until it is back")).toBe(true);
    expect(host.logs.some((l) => l.msg === "transport disconnected")).toBe(true);
    expect(host.logs.every((l) => l.raw === undefined)).toBe(true);
    expect(host.stderr()).toBe("");
  });
});
