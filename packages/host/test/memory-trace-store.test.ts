import { describe, expect, it } from "vitest";
import type { AgentEventRecord } from "@colony/actors";
import { MemoryTraceStore } from "../src/observability/trace-store.ts";

const record = (agent: string, turn: number, n: number): AgentEventRecord => ({
  agent,
  at: 1_000 + n,
  turn,
  event: { kind: "turn_started", content: `message ${n}` },
});

describe("MemoryTraceStore", () => {
  it("keeps the last `cap` entries per agent, in order, however many were dropped in between", async () => {
    const store = new MemoryTraceStore(10);
    for (let n = 0; n < 38; n++) await store.append([record("a/1", n, n), record("b/1", n, n)]);
    const { entries, nextCursor } = await store.read("a/1", { limit: 100 });
    expect(entries.map((e) => (e.event as { content: string }).content)).toEqual(Array.from({ length: 10 }, (_, i) => `message ${28 + i}`));
    expect(nextCursor).toBeNull();
  });

  it("pages with the cursor and filters by turn and time", async () => {
    const store = new MemoryTraceStore(100);
    for (let n = 0; n < 30; n++) await store.append([record("a/1", Math.floor(n / 10), n)]);
    const first = await store.read("a/1", { limit: 4, turn: 1 });
    expect(first.entries.map((e) => e.at)).toEqual([1010, 1011, 1012, 1013]);
    const second = await store.read("a/1", { limit: 100, turn: 1, after: first.nextCursor! });
    expect(second.entries.map((e) => e.at)).toEqual([1014, 1015, 1016, 1017, 1018, 1019]);
    expect((await store.read("a/1", { limit: 100, since: 1027 })).entries).toHaveLength(3);
  });

  it("hands out copies: a record changed after append, or an entry changed after read, changes nothing stored", async () => {
    const store = new MemoryTraceStore();
    const r = record("a/1", 1, 1);
    await store.append([r]);
    (r.event as { content: string }).content = "changed";
    const read = await store.read("a/1", { limit: 1 });
    expect((read.entries[0]!.event as { content: string }).content).toBe("message 1");
    (read.entries[0]!.event as { content: string }).content = "changed again";
    expect(((await store.read("a/1", { limit: 1 })).entries[0]!.event as { content: string }).content).toBe("message 1");
  });
});
