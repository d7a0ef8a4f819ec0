import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalIndex } from "@colony/actors";
import { MemoryApprovalIndex, RedisApprovalIndex } from "@colony/actors";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";

let redis: RedisServer;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis({ useEnv: false });
  client = new Redis(redis.url);
});
afterAll(async () => {
  await client?.quit();
  await redis?.stop();
});

const entry = (agent: string, callId: string, requestedAt: number) => ({ agent, callId, tool: "remember", input: { key: "k" }, requestedAt, deadline: requestedAt + 1000 });

describe.each([
  ["memory", (): ApprovalIndex => new MemoryApprovalIndex()],
  ["redis", (): ApprovalIndex => new RedisApprovalIndex(client)],
])("the approval index (%s)", (_name, make) => {
  it("removeAgent drops every entry of that agent only, not of an agent whose id merely starts the same", async () => {
    await client.del(RedisApprovalIndex.KEY);
    const index = make();
    for (let i = 0; i < 1200; i++) await index.add(entry("assistant/gone", `toolu_${i}`, i));
    await index.add(entry("assistant/gone-too", "toolu_x", 5000));
    await index.add(entry("assistant/kept", "toolu_y", 6000));
    await index.removeAgent("assistant/gone");
    expect((await index.list()).map((e) => e.agent)).toEqual(["assistant/gone-too", "assistant/kept"]);
    await index.removeAgent("assistant/nobody");
    expect(await index.list()).toHaveLength(2);
  });
});
