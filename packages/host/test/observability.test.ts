import { afterEach, describe, expect, it } from "vitest";
import type { EmbeddedCluster, HostNode } from "../src/index.ts";
import { call, eventually, startTestCluster } from "../src/testing/index.ts";

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

async function twoHosts(): Promise<[HostNode, HostNode]> {
  // prefer-local: an agent first messaged through a host lives there.
  cluster = await startTestCluster({ hosts: 2, config: { placement: "prefer-local" } });
  return cluster.hosts as [HostNode, HostNode];
}

describe("execution traces", () => {
  it("records every step of a tool-using turn, readable from any host, filtered by turn and paginated", async () => {
    const [a, b] = await twoHosts();
    await call(a, "POST", "/v1/agents", { type: "assistant", key: "traced", config: { tools: ["remember"] } });
    await call(a, "POST", "/v1/agents/assistant/traced/messages", { content: "hello" });
    await call(a, "POST", "/v1/agents/assistant/traced/messages", { content: "remember colour = teal" });
    expect((await call(b, "GET", "/v1/agents/assistant/traced")).body.host).toBe(a.hostId);

    // Entries reach the store in batches, within milliseconds of each step.
    const all = await eventually(async () => {
      const body = (await call(b, "GET", "/v1/agents/assistant/traced/trace")).body;
      expect(body.entries.filter((e: { event: { kind: string } }) => e.event.kind === "turn_finished")).toHaveLength(2);
      return body;
    });
    expect(all.nextCursor).toBeNull();
    const second = all.entries.filter((e: { turn: number }) => e.turn === 2);
    expect(second.map((e: { event: { kind: string } }) => e.event.kind)).toEqual([
      "turn_started",
      "status",
      "model_request",
      "model_response",
      "tool_call",
      "tool_result",
      "model_request",
      "model_response",
      "turn_finished",
    ]);
    const byKind = (k: string) => second.find((e: { event: { kind: string } }) => e.event.kind === k).event;
    expect(byKind("turn_started").content).toBe("remember colour = teal");
    expect(byKind("model_response").toolCalls).toEqual([{ id: expect.any(String), name: "remember" }]);
    expect(byKind("tool_call")).toMatchObject({ tool: "remember", input: { key: "colour", value: "teal" } });
    expect(byKind("tool_result")).toMatchObject({ tool: "remember", outcome: "ok", isError: false });
    expect(byKind("tool_result").durationMs).toBeGreaterThanOrEqual(0);
    expect(byKind("turn_finished")).toMatchObject({ status: "completed", reply: "I will remember that colour is teal." });
    expect(second.every((e: { host: string; agent: string }) => e.host === a.hostId && e.agent === "assistant/traced")).toBe(true);
    // No text deltas in the trace: they are for the live stream only.
    expect(all.entries.some((e: { event: { kind: string } }) => e.event.kind === "text_delta")).toBe(false);

    const onlyTurn2 = (await call(b, "GET", "/v1/agents/assistant/traced/trace?turn=2")).body.entries;
    expect(onlyTurn2).toEqual(second);
    const since = second[4].at;
    expect((await call(a, "GET", `/v1/agents/assistant/traced/trace?since=${since}`)).body.entries.every((e: { at: number }) => e.at >= since)).toBe(true);

    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { entries: unknown[]; nextCursor: string | null } = (
        await call(b, "GET", `/v1/agents/assistant/traced/trace?limit=4${cursor ? `&cursor=${cursor}` : ""}`)
      ).body;
      pages.push(...page.entries);
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages).toEqual(all.entries);
  });

  it("carries the caller's W3C trace id into every step of the turn, across hosts", async () => {
    const [a, b] = await twoHosts();
    await call(a, "POST", "/v1/agents", { type: "assistant", key: "tp" });
    await call(a, "POST", "/v1/agents/assistant/tp/messages", { content: "place me on A" });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await call(b, "POST", "/v1/agents/assistant/tp/messages", { content: "traced" }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    const entries = await eventually(async () => {
      const list = (await call(b, "GET", "/v1/agents/assistant/tp/trace?turn=2")).body.entries;
      expect(list.at(-1)?.event.kind).toBe("turn_finished");
      return list;
    });
    expect(entries.length).toBeGreaterThan(3);
    expect(entries.every((e: { traceId: string; host: string }) => e.traceId === traceId && e.host === a.hostId)).toBe(true);
    // Without a header every request starts its own trace.
    const first = (await call(b, "GET", "/v1/agents/assistant/tp/trace?turn=1")).body.entries;
    expect(first[0].traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(first[0].traceId).not.toBe(traceId);
  });

  it("404s the trace of an unknown agent and 400s a bad query", async () => {
    const [a] = await twoHosts();
    expect((await call(a, "GET", "/v1/agents/assistant/nobody/trace")).status).toBe(404);
    await call(a, "POST", "/v1/agents", { type: "assistant", key: "q" });
    expect((await call(a, "GET", "/v1/agents/assistant/q/trace?turn=x")).status).toBe(400);
    expect((await call(a, "GET", "/v1/agents/assistant/q/trace?limit=0")).status).toBe(400);
  });
});

/** Reads an SSE stream into events (name + parsed data) and counts heartbeat comments, until `end` or the deadline. */
async function readEvents(url: string, onReady: () => Promise<void>, timeoutMs = 10_000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const res = await fetch(url, { signal: ctl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: any }[] = [];
  let heartbeats = 0;
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let sep;
      while ((sep = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        if (chunk.startsWith(":")) {
          heartbeats++;
          continue;
        }
        const name = /^event: (.*)$/m.exec(chunk)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(chunk)?.[1] ?? "null";
        events.push({ event: name, data: JSON.parse(data) });
        if (name === "ready") await onReady();
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return { events, heartbeats };
}

describe("live events (server-sent)", () => {
  it("streams a live turn through a host other than the agent's, with heartbeats and a clean end", async () => {
    const [a, b] = await twoHosts();
    await call(a, "POST", "/v1/agents", { type: "assistant", key: "live" });
    await call(a, "POST", "/v1/agents/assistant/live/messages", { content: "first, to place it on A" });
    const { events, heartbeats } = await readEvents(`${b.url}/v1/agents/assistant/live/events?until=turn_end&heartbeatMs=100`, async () => {
      expect((await call(a, "POST", "/v1/agents/assistant/live/messages", { content: "slow 400 streamed words", wait: false })).status).toBe(202);
    });
    const names = events.map((e) => e.event);
    expect(names[0]).toBe("ready");
    expect(names.at(-1)).toBe("end");
    for (const k of ["turn_started", "status", "model_request", "text_delta", "model_response", "turn_finished"]) expect(names).toContain(k);
    expect(events.find((e) => e.event === "text_delta")!.data.event.text).toBe("streamed words");
    expect(events.find((e) => e.event === "turn_finished")!.data).toMatchObject({ host: a.hostId, turn: 2, event: { status: "completed" } });
    expect(heartbeats).toBeGreaterThan(0);
  });

  it("404s the event stream of an unknown agent", async () => {
    const [a] = await twoHosts();
    const res = await call(a, "GET", "/v1/agents/assistant/ghost/events");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });
});
