import { afterAll, describe, expect, it } from "vitest";
import type { AgentEventRecord } from "@colony/actors";
import { newMessageId } from "@colony/actors";
import type { TraceStore } from "@colony/host";
import { MemoryTraceStore, RedisTraceStore } from "@colony/host";
import { redisBackends, stopRedisBackends } from "../harness/redis-backends.ts";

afterAll(() => stopRedisBackends());

const record = (agent: string, turn: number, n: number): AgentEventRecord => ({ agent, at: 1_000 + n, turn, host: "h1", event: { kind: "turn_started", content: `message ${n}` } });
const contents = (entries: { event: unknown }[]) => entries.map((e) => (e.event as { content: string }).content);

// Memory, one redis-server, a Redis Cluster: one batch holds several agents' entries, whose keys sit in different slots.
const targets: [string, (cap: number) => Promise<TraceStore>][] = [
  ["memory", async (cap) => new MemoryTraceStore(cap)],
  ...redisBackends({ useEnv: false }).map((b): [string, (cap: number) => Promise<TraceStore>] => [b.name, async (cap) => new RedisTraceStore(await b.client(), cap)]),
];

describe.each(targets)("the trace store (%s)", (_name, open) => {
  it("keeps each agent's entries of a batch in order, apart from the other agents' in the same batch", async () => {
    const store = await open(2_000);
    const [a, b, c] = ["alpha", "beta", "gamma"].map((t) => `${t}${newMessageId().slice(-8).toLowerCase()}/one`) as [string, string, string];
    for (let turn = 0; turn < 3; turn++) {
      const batch: AgentEventRecord[] = [];
      for (let n = 0; n < 5; n++) batch.push(record(a, turn, turn * 5 + n), record(b, turn, 100 + turn * 5 + n));
      if (turn === 1) batch.push(record(c, turn, 500));
      await store.append(batch);
    }
    expect(contents((await store.read(a, { limit: 100 })).entries)).toEqual(Array.from({ length: 15 }, (_, n) => `message ${n}`));
    expect(contents((await store.read(b, { limit: 100 })).entries)).toEqual(Array.from({ length: 15 }, (_, n) => `message ${100 + n}`));
    expect(contents((await store.read(c, { limit: 100 })).entries)).toEqual(["message 500"]);
    // Paging across batches: the cursor of one page starts the next.
    const first = await store.read(a, { limit: 7 });
    const second = await store.read(a, { limit: 100, after: first.nextCursor! });
    expect(contents([...first.entries, ...second.entries])).toEqual(Array.from({ length: 15 }, (_, n) => `message ${n}`));
  });

  it("trims each agent's trace to about its cap, keeping the newest", async () => {
    const store = await open(100);
    const agent = `trim${newMessageId().slice(-8).toLowerCase()}/one`;
    for (let turn = 0; turn < 80; turn++) await store.append(Array.from({ length: 5 }, (_, n) => record(agent, turn, turn * 5 + n)));
    const kept = contents((await store.read(agent, { limit: 1_000 })).entries);
    // Redis trims whole stream nodes (MAXLEN ~): at least the cap, less than the 400 written.
    expect(kept.length).toBeGreaterThanOrEqual(100);
    expect(kept.length).toBeLessThan(400);
    expect(kept[kept.length - 1]).toBe("message 399");
  });
});
