import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentId } from "@colony/actors";
import { AgentStore, RedisStoreDriver } from "@colony/actors";
import { http, startColony } from "../harness/colony-process.ts";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

let redis: RedisServer;
let store: AgentStore;
beforeAll(async () => {
  redis = await startRedis();
  store = new AgentStore(new RedisStoreDriver(new Redis(redis.url)));
});
afterAll(async () => {
  await store?.close();
  await redis?.stop();
});

const userTexts = (messages: { role: string; content: { type: string; text?: string }[] }[]) =>
  messages.filter((m) => m.role === "user" && m.content[0]?.type === "text").map((m) => m.content[0]!.text);

const key = () => `sig${Math.random().toString(36).slice(2, 10)}`;

describe("colony host on Redis, SIGTERM with a turn in flight", () => {
  it("finishes the running turn and the accepted ones, exits 0, and loses nothing", async () => {
    const k = key();
    const id = `assistant/${k}` as AgentId;
    await using host = await startColony(["host"], { REDIS_URL: redis.url, COLONY_DRAIN_MS: "15000" });
    expect((await http(host.url, "POST", "/v1/agents", { type: "assistant", key: k })).status).toBe(201);
    const sent = ["slow 700 first", "second", "third"];
    for (const content of sent) expect((await http(host.url, "POST", `/v1/agents/${id}/messages`, { content, wait: false })).status).toBe(202);
    await waitFor(async () => (await http(host.url, "GET", `/v1/agents/${id}`)).body.status === "running", { message: "the slow turn to start" });

    host.signal("SIGTERM");
    expect(await host.exited).toBe(0);

    const loaded = await store.load(id);
    expect(loaded!.state.turns).toBe(3);
    expect(userTexts(loaded!.state.messages)).toEqual(sent);
    expect(loaded!.pending).toEqual([]);
  });

  it("stops a turn that outlasts the drain at its checkpoint; the next activation runs everything once, in order", async () => {
    const k = key();
    const id = `assistant/${k}` as AgentId;
    {
      await using host = await startColony(["host"], { REDIS_URL: redis.url, COLONY_DRAIN_MS: "200" });
      expect((await http(host.url, "POST", "/v1/agents", { type: "assistant", key: k })).status).toBe(201);
      for (const content of ["slow 2500 first", "second"]) {
        expect((await http(host.url, "POST", `/v1/agents/${id}/messages`, { content, wait: false })).status).toBe(202);
      }
      await waitFor(async () => (await http(host.url, "GET", `/v1/agents/${id}`)).body.status === "running", { message: "the slow turn to start" });
      const t0 = Date.now();
      host.signal("SIGTERM");
      expect(await host.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(4000);
    }
    // Both accepted messages are still in the durable inbox.
    const stored = await store.load(id);
    expect(stored!.state.turns).toBe(0);
    expect(stored!.pending.map((p) => p.message.content)).toEqual(["slow 2500 first", "second"]);

    await using again = await startColony(["host"], { REDIS_URL: redis.url });
    const reply = await http(again.url, "POST", `/v1/agents/${id}/messages`, { content: "third" });
    expect(reply.status).toBe(200);
    expect(reply.body.reply).toContain("message #3");
    const state = (await http(again.url, "GET", `/v1/agents/${id}`)).body;
    expect(state.turns).toBe(3);
    expect(userTexts(state.messages)).toEqual(["slow 2500 first", "second", "third"]);
  });
});
