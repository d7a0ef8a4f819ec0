import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { type NatsConnection, StringCodec, connect } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, isProcessAlive, portIsFree, startNats, startRedis } from "./servers.ts";
import { WaitTimeoutError, waitFor } from "./wait.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const sc = StringCodec();

/** Connections opened by a test, closed after it whatever happened. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

function redisClient(url: string): Redis {
  // Fail fast while the server is down instead of queueing forever.
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 20, lazyConnect: false });
  client.on("error", () => {});
  cleanups.push(async () => client.disconnect());
  return client;
}

async function natsClient(url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, reconnectTimeWait: 20, maxReconnectAttempts: -1 });
  cleanups.push(() => nc.close());
  return nc;
}

describe("waitFor", () => {
  it("returns the first truthy value the condition yields", async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : null), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it("treats throws as not yet and reports the last one on timeout", async () => {
    const err = await waitFor(
      () => {
        throw new Error("still booting");
      },
      { timeoutMs: 60, intervalMs: 5, message: "the thing to boot" },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toMatch(/timed out after 60 ms waiting for the thing to boot/);
    expect((err as Error).message).toMatch(/still booting/);
  });

  it("does not let one hung attempt hold it past the deadline", async () => {
    const started = performance.now();
    const err = await waitFor(() => new Promise<boolean>(() => {}), { timeoutMs: 50, message: "a hung probe" }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/had not finished/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("stops when its signal is aborted", async () => {
    const ac = new AbortController();
    const pending = waitFor(() => false, { timeoutMs: 10_000, signal: ac.signal });
    ac.abort(new Error("given up"));
    await expect(pending).rejects.toThrow("given up");
  });
});

describe("freePort", () => {
  it("returns a bindable loopback port", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await portIsFree(port)).toBe(true);
  });
});

describe("startRedis", () => {
  it("starts a private redis-server that answers PING, and restarts it on the same port", async () => {
    await using redis = await startRedis({ useEnv: false });
    expect(redis.external).toBe(false);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    const client = redisClient(redis.url);
    expect(await client.ping()).toBe("PONG");
    // Not persistent: no RDB snapshots, no AOF.
    expect(await client.config("GET", "save")).toEqual(["save", ""]);
    expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
    await client.set("k", "v");

    const firstPid = redis.pid!;
    await redis.restart();
    expect(redis.port).toBe(Number(new URL(redis.url).port));
    expect(redis.pid).not.toBe(firstPid);
    expect(isProcessAlive(firstPid)).toBe(false);
    // The client reconnects to the same URL; the data was not persisted.
    expect(await waitFor(() => client.ping(), { message: "the client to reconnect" })).toBe("PONG");
    expect(await client.get("k")).toBeNull();
  });

  it("kill() crashes it until restart(); a persistent one keeps its data", async () => {
    await using redis = await startRedis({ useEnv: false, persistent: true });
    const client = redisClient(redis.url);
    await client.set("durable", "yes");
    await redis.kill();
    expect(redis.running).toBe(false);
    await expect(client.ping()).rejects.toThrow();
    await redis.restart();
    expect(redis.running).toBe(true);
    expect(await waitFor(() => client.get("durable"), { message: "the value to survive a SIGKILL" })).toBe("yes");
  });

  it("stop() ends the process, frees the port, is idempotent and final", async () => {
    const redis = await startRedis({ useEnv: false });
    const pid = redis.pid!;
    expect(isProcessAlive(pid)).toBe(true);
    await redis.stop();
    await redis.stop();
    expect(isProcessAlive(pid)).toBe(false);
    expect(await portIsFree(redis.port)).toBe(true);
    await expect(redis.restart()).rejects.toThrow(/stopped for good/);
  });

  it("uses REDIS_URL when set, and refuses to kill a server it does not own", async () => {
    await using own = await startRedis({ useEnv: false });
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = own.url;
    try {
      await using ext = await startRedis();
      expect(ext.external).toBe(true);
      expect(ext.url).toBe(own.url);
      expect(ext.port).toBe(own.port);
      await expect(ext.kill()).rejects.toThrow(/REDIS_URL is set/);
      await expect(ext.restart()).rejects.toThrow(/useEnv: false/);
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
    // Disposing the external handle left our server running.
    expect(await redisClient(own.url).ping()).toBe("PONG");
  });

  it("fails with a message naming REDIS_URL when that server does not answer", async () => {
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = `redis://127.0.0.1:${await freePort()}`;
    try {
      await expect(startRedis({ startTimeoutMs: 200 })).rejects.toThrow(/REDIS_URL=redis:\/\/127\.0\.0\.1:\d+/);
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });
});

describe("startNats", () => {
  it("starts a private nats-server that carries request/reply, and restarts it on the same port", async () => {
    await using nats = await startNats({ useEnv: false });
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    const server = await natsClient(nats.url);
    const client = await natsClient(nats.url);
    server.subscribe("echo", { callback: (_err, msg) => msg.respond(sc.encode(`re: ${sc.decode(msg.data)}`)) });
    await server.flush();
    const reply = await client.request("echo", sc.encode("hello"), { timeout: 2_000 });
    expect(sc.decode(reply.data)).toBe("re: hello");

    await nats.restart();
    // Both clients reconnect and the subscription is re-established.
    const again = await waitFor(
      async () => sc.decode((await client.request("echo", sc.encode("again"), { timeout: 500 })).data),
      { timeoutMs: 10_000, message: "request/reply to work after the NATS restart" },
    );
    expect(again).toBe("re: again");
  });

  it("stop() ends the process and frees the port", async () => {
    const nats = await startNats({ useEnv: false });
    const pid = nats.pid!;
    await nats.stop();
    expect(isProcessAlive(pid)).toBe(false);
    expect(await portIsFree(nats.port)).toBe(true);
  });
});

describe("no leaked server processes", () => {
  /** Runs a child Node process that starts both servers, prints their pids, and then does `then`. */
  async function serversOfChild(then: "exit" | "hang"): Promise<{ pids: number[]; child: ReturnType<typeof spawn> }> {
    const harness = JSON.stringify(path.join(here, "servers.ts"));
    const code = `
      import { startRedis, startNats } from ${harness};
      const r = await startRedis({ useEnv: false });
      const n = await startNats({ useEnv: false });
      console.log(JSON.stringify([r.pid, n.pid]));
      ${then === "exit" ? "process.exit(0);" : "setInterval(() => {}, 1000);"}
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: path.resolve(here, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    cleanups.push(async () => child.kill("SIGKILL"));
    let out = "";
    let err = "";
    child.stdout!.on("data", (c) => (out += c));
    child.stderr!.on("data", (c) => (err += c));
    const pids = await waitFor(
      () => {
        if (child.exitCode !== null && !out.includes("]")) throw new Error(`child exited ${child.exitCode}: ${err}`);
        const line = out.split("\n").find((l) => l.startsWith("["));
        return line ? (JSON.parse(line) as number[]) : null;
      },
      { timeoutMs: 20_000, message: "the child to start redis and nats" },
    );
    return { pids, child };
  }

  it("kills the servers when the test process exits without stopping them", async () => {
    const { pids } = await serversOfChild("exit");
    expect(pids).toHaveLength(2);
    await waitFor(() => pids.every((p) => !isProcessAlive(p)), { timeoutMs: 5_000, message: `servers ${pids} to die with their parent` });
  });

  it("kills the servers when the test process is terminated by SIGTERM", async () => {
    const { pids, child } = await serversOfChild("hang");
    expect(pids.every(isProcessAlive)).toBe(true);
    child.kill("SIGTERM");
    await waitFor(() => pids.every((p) => !isProcessAlive(p)), { timeoutMs: 5_000, message: `servers ${pids} to die on SIGTERM` });
  });

  it("kills the servers even when the test process is SIGKILLed (watchdog)", async () => {
    const { pids, child } = await serversOfChild("hang");
    child.kill("SIGKILL");
    await waitFor(() => pids.every((p) => !isProcessAlive(p)), { timeoutMs: 10_000, message: `servers ${pids} to be reaped by the watchdog` });
  });
});
