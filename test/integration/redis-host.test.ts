import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisApprovalIndex, RedisStoreDriver } from "@colony/actors";
import { RedisTraceStore } from "@colony/host";
import { ManualClock } from "@colony/actors/testing";
import { RedisPlacementRegistry } from "@colony/directory";
import { call, startTestCluster } from "@colony/host/testing";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

let redis: RedisServer;
const clients: Redis[] = [];
const client = () => {
  const r = new Redis(redis.url);
  clients.push(r);
  return r;
};
const storage = () => ({
  driver: new RedisStoreDriver(client(), false),
  registry: new RedisPlacementRegistry(client(), false),
  approvals: new RedisApprovalIndex(client()),
  traces: new RedisTraceStore(client()),
});
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await redis?.stop();
});

const key = (p: string) => `${p}${Math.random().toString(36).slice(2, 10)}`;

describe("agents persisted in real Redis", () => {
  it("passivate to Redis and reactivate with identical context, in another cluster process even", async () => {
    const clock = new ManualClock();
    const k = key("pas");
    const path = `/v1/agents/assistant/${k}`;
    {
      await using c = await startTestCluster({ storage: storage(), clock, config: { idleMs: 1_000 } });
      const a = c.hosts[0]!;
      expect((await call(a, "POST", "/v1/agents", { type: "assistant", key: k, config: { tools: ["remember", "recall"] } })).status).toBe(201);
      await call(a, "POST", `${path}/messages`, { content: "remember tea = green" });
      await call(a, "POST", `${path}/messages`, { content: "hi" });
      const before = (await call(a, "GET", path)).body;
      expect(before.host).toBe(a.hostId);
      clock.advance(2_000);
      await waitFor(() => a.catalog.activeCount() === 0, { message: "passivation" });
      // Passivation released the placement too.
      await waitFor(async () => (await call(a, "GET", path)).body.host === null, { message: "the placement to be released" });
      const passive = (await call(a, "GET", path)).body;
      expect({ ...passive, host: "x" }).toEqual({ ...before, host: "x" });
    }
    // A new cluster (a restart of everything) picks the agent up from Redis.
    await using again = await startTestCluster({ storage: storage() });
    const reply = await call(again.hosts[0]!, "POST", `${path}/messages`, { content: "what is tea?" });
    expect(reply.body.reply).toBe("tea is green.");
    expect((await call(again.hosts[0]!, "GET", path)).body.turns).toBe(3);
  });
});

describe("approvals survive a host restart", () => {
  it("a turn paused for approval resumes on a new host once approved there", async () => {
    const k = key("gate");
    const path = `/v1/agents/assistant/${k}`;
    {
      await using c = await startTestCluster({ storage: storage() });
      const a = c.hosts[0]!;
      await call(a, "POST", "/v1/agents", { type: "assistant", key: k, config: { tools: ["remember"], permissions: { remember: "approval" } } });
      expect((await call(a, "POST", `${path}/messages`, { content: "remember vault = sealed", wait: false })).status).toBe(202);
      await waitFor(async () => (await call(a, "GET", path)).body.status === "awaiting_approval", { message: "the turn to pause" });
    }
    // Everything restarts; the pending call is still listed, and approving it finishes the turn.
    await using again = await startTestCluster({ storage: storage() });
    const b = again.hosts[0]!;
    const pending = (await call(b, "GET", "/v1/approvals")).body.approvals.filter((p: { agent: string }) => p.agent === `assistant/${k}`);
    expect(pending).toHaveLength(1);
    expect((await call(b, "POST", `${path}/approvals/${pending[0].callId}`, { approve: true })).status).toBe(200);
    await waitFor(async () => (await call(b, "GET", path)).body.turns === 1, { message: "the turn to finish" });
    const state = (await call(b, "GET", path)).body;
    expect(state.memory).toEqual({ vault: "sealed" });
    expect(state.status).toBe("idle");
  });
});
