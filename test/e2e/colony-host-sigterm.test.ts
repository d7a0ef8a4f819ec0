import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { AgentId } from "@colony/actors";
import { AgentStore, RedisStoreDriver } from "@colony/actors";
import { http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";

const userTexts = (messages: { role: string; content: { type: string; text?: string }[] }[]) =>
  messages.filter((m) => m.role === "user" && m.content[0]?.type === "text").map((m) => m.content[0]!.text);

describe("the last host of a cluster stopped with SIGTERM while a turn runs", { timeout: 120_000 }, () => {
  it.each([
    ["the running turn finishes", "15000", "slow 600 first", 1],
    ["a turn outlasting the drain stops at its checkpoint", "200", "slow 2500 first", 0],
  ])("%s; queued messages wait in Redis for the next host; nothing is lost or run twice", async (_what, drainMs, slow, turnsAtExit) => {
    await using c = await startProcessCluster({ hosts: 1, env: { COLONY_DRAIN_MS: drainMs } });
    const [first] = [...c.hosts.keys()] as [string];
    const id = "assistant/sigterm" as AgentId;
    expect((await http(c.url(), "POST", "/v1/agents", { type: "assistant", key: "sigterm" })).status).toBe(201);
    for (const content of [slow, "second", "third"]) {
      expect((await http(c.url(), "POST", `/v1/agents/${id}/messages`, { content, wait: false })).status).toBe(202);
    }
    await waitFor(async () => (await http(c.url(), "GET", `/v1/agents/${id}`)).body.status === "running", { message: "the slow turn to start" });
    c.hosts.get(first)!.signal("SIGTERM");
    expect(await c.hosts.get(first)!.exited).toBe(0);

    const store = new AgentStore(new RedisStoreDriver(new Redis(c.redis.url)));
    try {
      const stored = (await store.load(id))!;
      expect(stored.state.turns).toBe(turnsAtExit);
      expect(stored.pending.map((p) => p.message.content)).toEqual([slow, "second", "third"].slice(turnsAtExit));
      // The next host runs what waited, in order, before the new message.
      await c.addHost();
      const reply = await http(c.url(), "POST", `/v1/agents/${id}/messages`, { content: "fourth" });
      expect(reply.status).toBe(200);
      expect(reply.body.reply).toContain("message #4");
      const state = (await store.load(id))!;
      expect(userTexts(state.state.messages)).toEqual([slow, "second", "third", "fourth"]);
      expect(state.pending).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
