import { afterAll, describe, expect, it } from "vitest";
import type { ApprovalIndex, RedisClient } from "@colony/actors";
import { MemoryApprovalIndex, RedisApprovalIndex } from "@colony/actors";
import { redisBackends, stopRedisBackends } from "../harness/redis-backends.ts";

afterAll(() => stopRedisBackends());

const entry = (agent: string, callId: string, requestedAt: number) => ({ agent, callId, tool: "remember", input: { key: "k" }, requestedAt, deadline: requestedAt + 1000 });

// Memory, one redis-server, a Redis Cluster: the index is one global hash, single-key commands only.
const targets: [string, () => Promise<{ index: ApprovalIndex; client?: RedisClient }>][] = [
  ["memory", async () => ({ index: new MemoryApprovalIndex() })],
  ...redisBackends({ useEnv: false }).map((b): [string, () => Promise<{ index: ApprovalIndex; client?: RedisClient }>] => [
    b.name,
    async () => {
      const client = await b.client();
      await client.del(RedisApprovalIndex.KEY);
      return { index: new RedisApprovalIndex(client), client };
    },
  ]),
];

describe.each(targets)("the approval index (%s)", (_name, open) => {
  it("removeAgent drops every entry of that agent only, not of an agent whose id merely starts the same", async () => {
    const { index } = await open();
    for (let i = 0; i < 1200; i++) await index.add(entry("assistant/gone", `toolu_${i}`, i));
    await index.add(entry("assistant/gone-too", "toolu_x", 5000));
    await index.add(entry("assistant/kept", "toolu_y", 6000));
    await index.removeAgent("assistant/gone");
    expect((await index.list()).map((e) => e.agent)).toEqual(["assistant/gone-too", "assistant/kept"]);
    await index.removeAgent("assistant/nobody");
    expect(await index.list()).toHaveLength(2);
  });
});
