/**
 * Issue 11 case 6: while Redis is unreachable the API fails fast (503
 * `unavailable` with Retry-After: not acknowledged, safe to retry) instead
 * of hanging for the whole outage; when Redis returns everything recovers
 * by itself, and the messages acknowledged before the outage run. Real
 * processes (a directory and two hosts) and a real redis-server (append-only,
 * fsync always: what it acknowledged survives) killed and restarted on the
 * same port.
 */
import { describe, expect, it } from "vitest";
import type { ColonyProcess } from "../harness/colony-process.ts";
import { conversationOf, http, startColony } from "../harness/colony-process.ts";
import { startNats, startRedis } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";
import { userTexts } from "./helpers.ts";

/** A process can take long to start on a loaded machine. */
const START_TIMEOUT_MS = 60_000;

/** A request that answers status, body, Retry-After and how long it took (status 0: no answer within 10 s). */
async function timed(base: string, method: string, path: string, body?: unknown) {
  const start = Date.now();
  try {
    const res = await fetch(base + path, {
      method,
      headers: { "content-type": "application/json" },
      signal: AbortSignal.timeout(10_000),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, retryAfter: res.headers.get("retry-after"), ms: Date.now() - start };
  } catch {
    return { status: 0, body: undefined, retryAfter: null, ms: Date.now() - start };
  }
}

describe("Redis down", () => {
  it("answers 503 unavailable with Retry-After within ~1 s during the outage, and recovers by itself without losing an acknowledged message", async () => {
    await using redis = await startRedis({ useEnv: false, persistent: true });
    await using nats = await startNats({ useEnv: false });
    const env = { REDIS_URL: redis.url, NATS_URL: nats.url, LOG_LEVEL: "info", COLONY_PLACEMENT: "prefer-local" };
    const procs: ColonyProcess[] = [];
    try {
      procs.push(await startColony(["directory"], { ...env, COLONY_HOST_ID: "dir-outage" }, START_TIMEOUT_MS));
      const [a, b] = await Promise.all([startColony(["host"], { ...env, COLONY_HOST_ID: "a-outage" }, START_TIMEOUT_MS), startColony(["host"], { ...env, COLONY_HOST_ID: "b-outage" }, START_TIMEOUT_MS)]);
      procs.push(a!, b!);
      await waitFor(async () => ((await http(a!.url, "GET", "/v1/hosts")).body.hosts as unknown[]).length === 2, { timeoutMs: 15_000, message: "both hosts to join" });

      const busy = "assistant/busy";
      const cold = "assistant/cold";
      for (const key of ["busy", "cold"]) expect((await http(a!.url, "POST", "/v1/agents", { type: "assistant", key })).status).toBe(201);
      expect((await http(a!.url, "POST", `/v1/agents/${busy}/messages`, { content: "warm up" })).status).toBe(200);
      // Acknowledged before the outage: a turn in progress when Redis dies, and one queued behind it.
      const backlog = ["slow 3000 running when redis died", "queued before the outage"];
      for (const content of backlog) expect((await http(a!.url, "POST", `/v1/agents/${busy}/messages`, { content, wait: false })).status).toBe(202);
      await waitFor(async () => (await http(a!.url, "GET", `/v1/agents/${busy}`)).body.status === "running", { timeoutMs: 15_000, message: "the slow turn to start" });

      await redis.kill();
      const during = [
        await timed(a!.url, "POST", `/v1/agents/${busy}/messages`, { content: "during the outage (owner)" }),
        await timed(b!.url, "POST", `/v1/agents/${busy}/messages`, { content: "during the outage (forwarded)" }),
        await timed(b!.url, "POST", `/v1/agents/${cold}/messages`, { content: "during the outage (unplaced)" }),
        await timed(b!.url, "GET", `/v1/agents/${cold}`),
        await timed(b!.url, "GET", "/v1/agents"),
        await timed(a!.url, "POST", "/v1/agents", { type: "assistant", key: "born-in-outage" }),
      ];
      console.log(`redis outage: answers in ${during.map((r) => `${r.status}/${r.ms}ms`).join(", ")}`);
      for (const r of during) {
        expect(r.status, JSON.stringify(r.body)).toBe(503);
        expect(r.body.error.code).toBe("unavailable");
        expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(r.ms).toBeLessThan(2_500);
      }
      // The slow turn ended meanwhile; its commit could not be written. Keep Redis away a little longer.
      await new Promise((r) => setTimeout(r, 1_500));

      await redis.restart();
      const back = Date.now();
      await waitFor(async () => (await timed(b!.url, "POST", `/v1/agents/${cold}/messages`, { content: "after the outage" })).status === 200, {
        timeoutMs: 15_000,
        intervalMs: 100,
        message: "requests to succeed again after Redis returned",
      });
      console.log(`redis outage: requests succeed again ${Date.now() - back} ms after Redis returned`);
      expect((await http(b!.url, "GET", "/v1/agents")).status).toBe(200);

      // Everything acknowledged before the outage runs exactly once (a commit that failed during the
      // outage is retried as a commit, never by re-running the turn), with no new message for that agent.
      const acked = ["warm up", ...backlog];
      let seen: unknown;
      const state = await waitFor(
        async () => {
          // The conversation first, then the view: a turn's message is in the conversation from its
          // start, so a view read after it that says idle has finished that turn (read the other way
          // round, an idle gap between two turns could pass for the end).
          const texts = userTexts(await conversationOf(b!.url, busy).catch(() => []));
          const res = await timed(b!.url, "GET", `/v1/agents/${busy}`);
          seen = { status: res.status, turns: res.body?.turns, agent: res.body?.status, texts };
          return res.status === 200 && res.body.status === "idle" && JSON.stringify(texts) === JSON.stringify(acked) && res.body;
        },
        { timeoutMs: 20_000, intervalMs: 200, message: "the backlog acknowledged before the outage to run" },
      ).catch((e: Error) => {
        throw new Error(`${e.message}; last seen ${JSON.stringify(seen)}`);
      });
      expect(state.status).toBe("idle");
      expect(state.turns).toBe(acked.length);
      // Nothing refused during the outage was stored.
      const coldTexts = userTexts(await conversationOf(b!.url, cold));
      expect(coldTexts).toEqual(["after the outage"]);
    } finally {
      await Promise.all(procs.map((p) => p[Symbol.asyncDispose]()));
    }
  }, 240_000);
});
