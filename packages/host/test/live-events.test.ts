import { get } from "node:http";
import type { IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentEventRecord } from "@colony/actors";
import type { EmbeddedCluster } from "../src/index.ts";
import { call, eventually, startTestCluster } from "../src/testing/index.ts";

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

/** An SSE client over node:http that can stop reading (its socket then fills and the host's writes block). */
function openStream(url: string) {
  const events: { event: string; data: any }[] = [];
  let buffer = "";
  let res: IncomingMessage | undefined;
  const ended = new Promise<void>((resolve, reject) => {
    get(url, (r) => {
      res = r;
      r.setEncoding("utf8");
      r.on("data", (chunk: string) => {
        buffer += chunk;
        let sep;
        while ((sep = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          if (block.startsWith(":")) continue;
          events.push({ event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) });
        }
      });
      r.on("end", resolve);
      r.on("error", reject);
    }).on("error", reject);
  });
  return { events, ended, pause: () => res!.pause(), resume: () => res!.resume(), destroy: () => res?.destroy() };
}

describe("live events: a bounded buffer per stream", () => {
  it("a reader that stops reading costs a bounded buffer; when it reads again it is told how many events it missed", { timeout: 60_000 }, async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    expect((await call(host, "POST", "/v1/agents", { type: "assistant", key: "chatty" })).status).toBe(201);
    const stream = openStream(`${host.url}/v1/agents/assistant/chatty/events?until=turn_end`);
    await eventually(() => expect(stream.events.map((e) => e.event)).toContain("ready"));
    stream.pause();

    // 6,000 events of 4 KiB (24 MiB) while the reader sleeps: far more than the socket holds.
    const N = 6_000;
    const probe = cluster.bus.connect("probe");
    const text = "x".repeat(4096);
    const rec = (event: AgentEventRecord["event"]): AgentEventRecord => ({ agent: "assistant/chatty", at: Date.now(), turn: 1, host: host.hostId, event });
    for (let i = 0; i < N; i++) {
      host.events.record(rec({ kind: "text_delta", text }));
      if (i % 500 === 0) await probe.flush();
    }
    // The bus delivers in publish order: once a later publish's flush is done, every event reached the stream.
    await probe.flush();
    await probe.close();
    stream.resume();
    await eventually(() => expect(stream.events.some((e) => e.event === "lagged")).toBe(true), 20_000);
    host.events.record(rec({ kind: "turn_finished", status: "completed", reply: "done", usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 } }));
    await stream.ended;

    const received = stream.events.filter((e) => e.event === "text_delta").length;
    const missed = stream.events.filter((e) => e.event === "lagged").reduce((n, e) => n + (e.data.missed as number), 0);
    expect(missed).toBeGreaterThan(0);
    expect(received + missed).toBe(N);
    expect(stream.events.at(-1)!.event).toBe("end");
    console.log(`lagging reader: ${received} of ${N} events delivered, ${missed} reported missed`);
  });

  it("a stream requested while the bus is down answers 503 and leaves no subscription behind", async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    expect((await call(host, "POST", "/v1/agents", { type: "assistant", key: "quiet" })).status).toBe(201);
    const before = cluster.bus.subscriptionCount;
    cluster.bus.simulateOutage();
    for (let i = 0; i < 5; i++) expect((await call(host, "GET", "/v1/agents/assistant/quiet/events")).status).toBe(503);
    cluster.bus.endOutage();
    expect(cluster.bus.subscriptionCount).toBe(before);
  });
});
