import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentId } from "@colony/actors";
import { AgentStore, RedisStoreDriver } from "@colony/actors";
import { ManualClock } from "@colony/actors/testing";
import { call, startTestHost } from "@colony/host/testing";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

let redis: RedisServer;
const clients: Redis[] = [];
const driver = () => {
  const r = new Redis(redis.url);
  clients.push(r);
  return new RedisStoreDriver(r, false);
};
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await redis?.stop();
});

const key = (p: string) => `${p}${Math.random().toString(36).slice(2, 10)}`;

describe("a host persisting to real Redis", () => {
  it("passivates to Redis and reactivates with identical context, on this host or another", async () => {
    const clock = new ManualClock();
    const k = key("pas");
    const path = `/v1/agents/assistant/${k}`;
    {
      await using a = await startTestHost({ driver: driver(), clock, config: { idleMs: 1_000 } });
      expect((await call(a, "POST", "/v1/agents", { type: "assistant", key: k, config: { tools: ["remember", "recall"] } })).status).toBe(201);
      await call(a, "POST", `${path}/messages`, { content: "remember tea = green" });
      await call(a, "POST", `${path}/messages`, { content: "hi" });
      const before = (await call(a, "GET", path)).body;
      clock.advance(2_000);
      await waitFor(() => a.catalog.activeCount() === 0, { message: "passivation" });
      const passive = (await call(a, "GET", path)).body;
      expect({ ...passive, host: "x" }).toEqual({ ...before, host: "x" });
    }
    // A different host (a fresh process's worth of state) picks it up from Redis.
    await using b = await startTestHost({ driver: driver() });
    const reply = await call(b, "POST", `${path}/messages`, { content: "what is tea?" });
    expect(reply.body.reply).toBe("tea is green.");
    expect((await call(b, "GET", path)).body.turns).toBe(3);
  });

  it("fences a zombie activation: once another activation claims the agent, the old one can never write", async () => {
    const k = key("zom");
    const id = `assistant/${k}` as AgentId;
    const path = `/v1/agents/${id}`;
    const store = new AgentStore(driver());
    await using a = await startTestHost({ driver: driver() });
    await using b = await startTestHost({ driver: driver() });
    await call(a, "POST", "/v1/agents", { type: "assistant", key: k });
    // A is mid-turn when B takes the agent over (as after a failover).
    const slow = call(a, "POST", `${path}/messages`, { content: "slow 400 from the zombie" });
    await waitFor(async () => (await call(a, "GET", path)).body.status === "running");
    const taken = await call(b, "POST", `${path}/messages`, { content: "from the new owner" });
    expect(taken.status).toBe(200);
    const afterB = await store.readState(id);

    const zombie = await slow;
    // The zombie's turn could not commit; its caller is told to go elsewhere.
    expect(zombie.status).toBe(503);
    expect(zombie.body.error.code).toBe("agent_not_here");
    await waitFor(() => a.catalog.get(id) === undefined, { message: "the zombie activation to stop" });
    expect(await store.readState(id)).toEqual(afterB);
  });
});
