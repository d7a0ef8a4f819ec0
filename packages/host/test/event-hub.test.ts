import { afterEach, describe, expect, it } from "vitest";
import type { AgentEventRecord } from "@colony/actors";
import { MemoryBus, silentLogger } from "@colony/actors";
import { MemoryTraceStore } from "../src/observability/trace-store.ts";
import type { TraceStore } from "../src/observability/trace-store.ts";
import { AgentEventHub, WATCH_TTL_MS } from "../src/observability/events.ts";
import { call, eventually, startTestCluster } from "../src/testing/index.ts";

const open: { close(): void }[] = [];
afterEach(() => {
  for (const h of open.splice(0)) h.close();
});

/** Two hosts on one bus: `owner` runs the agent, `viewer` serves a live stream of it; `seen` counts what crosses the bus. */
function twoHosts(now: () => number = Date.now) {
  const bus = new MemoryBus();
  const hub = (id: string) => {
    const h = new AgentEventHub({ hostId: id, traces: new MemoryTraceStore(), transport: bus.connect(id), logger: silentLogger, now });
    open.push(h);
    return h;
  };
  const owner = hub("owner");
  const viewer = hub("viewer");
  const seen: string[] = [];
  bus.connect("wire").subscribe("colony.ev.>", (env) => void seen.push((env.body as AgentEventRecord).event.kind));
  return { owner, viewer, seen };
}

const step = (kind: "turn_started" | "turn_finished"): AgentEventRecord =>
  ({ agent: "assistant/a1", at: Date.now(), turn: 1, host: "owner", event: kind === "turn_started" ? { kind, content: "hi" } : { kind, status: "completed", reply: "ok", usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 } } }) as AgentEventRecord;

describe("AgentEventHub: live events only while someone follows", () => {
  it("publishes nothing while nobody follows, everything while a host follows, nothing once it stops", async () => {
    const { owner, viewer, seen } = twoHosts();
    owner.record(step("turn_started"));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]); // nobody follows: nothing encoded or sent
    const got: string[] = [];
    const sub = await viewer.subscribe("assistant/a1", (rec) => got.push(rec.event.kind));
    owner.record(step("turn_started"));
    owner.record(step("turn_finished"));
    await eventually(() => expect(got).toEqual(["turn_started", "turn_finished"]));
    expect(seen).toEqual(["turn_started", "turn_finished"]);
    sub.unsubscribe();
    // Once the owner has heard that nobody follows any more, nothing crosses the bus.
    await eventually(async () => {
      const before = seen.length;
      owner.record(step("turn_started"));
      await new Promise((r) => setImmediate(r));
      expect(seen.length).toBe(before);
    });
  });

  it("keeps publishing while a second stream of the same agent stays open", async () => {
    const { owner, viewer } = twoHosts();
    const got: string[] = [];
    const first = await viewer.subscribe("assistant/a1", () => {});
    const second = await viewer.subscribe("assistant/a1", (rec) => got.push(rec.event.kind));
    first.unsubscribe();
    owner.record(step("turn_finished"));
    await eventually(() => expect(got).toEqual(["turn_finished"]));
    second.unsubscribe();
  });

  it("stops publishing for a follower that vanished without saying so, once its announcement expires", async () => {
    let now = 1_000_000;
    const { owner, viewer, seen } = twoHosts(() => now);
    await viewer.subscribe("assistant/a1", () => {});
    viewer.close(); // the viewer's host died: no more announcements, no unwatch
    owner.record(step("turn_started"));
    await eventually(() => expect(seen).toEqual(["turn_started"]));
    now += WATCH_TTL_MS + 1;
    owner.record(step("turn_finished"));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["turn_started"]);
  });
});

describe("AgentEventHub: trace entries", () => {
  /** A hub whose trace store records each write (a batch of records) it is asked for. */
  function hubWithWrites(flushDelayMs: number) {
    const writes: AgentEventRecord[][] = [];
    const traces: TraceStore = {
      append: async (records) => void writes.push([...records]),
      read: async () => ({ entries: [], nextCursor: null }),
    };
    const hub = new AgentEventHub({ hostId: "owner", traces, transport: new MemoryBus().connect("owner"), logger: silentLogger, flushDelayMs });
    open.push(hub);
    return { hub, writes };
  }

  it("are held, then written in one batch: the steps of several turns in one round trip", async () => {
    const { hub, writes } = hubWithWrites(5);
    hub.record(step("turn_started"));
    hub.record(step("turn_finished"));
    hub.record(step("turn_started"));
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([]); // not at the next tick, where a turn's commit is on its way to Redis
    await eventually(() => expect(writes.map((w) => w.map((r) => r.event.kind))).toEqual([["turn_started", "turn_finished", "turn_started"]]));
  });

  it("are written at once by flush() (a trace read, a shutdown), and not again when the delay ends", async () => {
    const { hub, writes } = hubWithWrites(60_000);
    hub.record(step("turn_started"));
    await hub.flush();
    expect(writes).toHaveLength(1);
    await hub.flush();
    expect(writes).toHaveLength(1);
  });

  it("are written without waiting once 1,000 are held", async () => {
    const { hub, writes } = hubWithWrites(60_000);
    for (let i = 0; i < 999; i++) hub.record(step("turn_started"));
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([]);
    hub.record(step("turn_finished"));
    await eventually(() => expect(writes.map((w) => w.length)).toEqual([1_000]));
  });
});

describe("a host's graceful shutdown", () => {
  it("writes the trace entries it still holds: a turn finished just before is readable through another host", async () => {
    await using cluster = await startTestCluster({ hosts: 2 });
    const [a, b] = cluster.hosts;
    expect((await call(a!, "POST", "/v1/agents", { type: "assistant", key: "t1" })).status).toBe(201);
    expect((await call(a!, "POST", "/v1/agents/assistant/t1/messages", { content: "hello" })).body.status).toBe("completed");
    const ownerId = (await call(a!, "GET", "/v1/agents/assistant/t1")).body.host;
    const [owner, other] = ownerId === a!.hostId ? [a!, b!] : [b!, a!];
    // Within the hold (TRACE_FLUSH_DELAY_MS): only the shutdown's own flush can have written the turn's steps.
    await owner.shutdown();
    const kinds = (await call(other, "GET", "/v1/agents/assistant/t1/trace")).body.entries.map((e: AgentEventRecord) => e.event.kind);
    expect(kinds).toContain("turn_started");
    expect(kinds).toContain("turn_finished");
  });
});
