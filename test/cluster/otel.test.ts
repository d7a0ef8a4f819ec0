import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { FakeRequest } from "@colony/actors/testing";
import { FAKE_ANTHROPIC_API_KEY, fakeSteps, startFakeAnthropic, systemText } from "@colony/actors/testing";
import { http, startColony } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import type { ReceivedSpan } from "../harness/otlp-collector.ts";
import { startOtlpCollector } from "../harness/otlp-collector.ts";
import { waitFor } from "../harness/wait.ts";

const MODEL = "claude-haiku-4-5";
const LEAD = "You are the lead.";
const WORKER = "You are a worker.";
/** Preloaded into a host: importing an OpenTelemetry SDK package fails (proves the SDK is not loaded). */
const FORBID_OTEL = fileURLToPath(new URL("../harness/forbid-otel.mjs", import.meta.url));

type Block = { type: string; text?: string };
const lastBlocks = (r: FakeRequest): Block[] => {
  const c = r.body.messages?.at(-1)?.content;
  return typeof c === "string" ? [{ type: "text", text: c }] : ((c ?? []) as Block[]);
};

const leadConfig = { model: MODEL, systemPrompt: LEAD, tools: ["delegate"], workers: { researcher: { systemPrompt: WORKER, model: MODEL } } };

/** Sends a message with the caller's traceparent (as an instrumented client would). */
async function sendTraced(base: string, path: string, content: string, traceparent: string) {
  const res = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json", traceparent }, body: JSON.stringify({ content }) });
  return { status: res.status, body: (await res.json()) as { status: string; reply: string } };
}

const one = (spans: ReceivedSpan[], pred: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
  const found = spans.filter(pred);
  if (found.length !== 1) throw new Error(`expected one ${what}, got ${found.length}: ${JSON.stringify(spans.map((s) => s.name))}`);
  return found[0]!;
};

describe("OpenTelemetry export over OTLP/HTTP, from real host processes to a collector stand-in", { timeout: 120_000 }, () => {
  it("a delegating turn across two hosts is one trace: invoke_agent → chat + execute_tool delegate → the worker's invoke_agent → chat, under the caller's traceparent", async () => {
    await using fake = await startFakeAnthropic();
    fake.respond((req) => {
      if (systemText(req.body) === LEAD) {
        if (lastBlocks(req).some((b) => b.type === "tool_result")) return fakeSteps.text("Summary: done", { usage: { input_tokens: 300, output_tokens: 20 } });
        return fakeSteps.reply([{ type: "tool_use", id: "toolu_delegate1", name: "delegate", input: { worker: "researcher", task: "find the facts" } }], {
          usage: { input_tokens: 100, output_tokens: 50 },
        });
      }
      return fakeSteps.text("the facts", { usage: { input_tokens: 1_000, output_tokens: 100 } });
    });
    await using collector = await startOtlpCollector();
    await using c = await startProcessCluster({
      hosts: 2,
      env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: fake.url, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: "100", OTEL_SERVICE_NAME: "colony-test" },
    });
    expect((await http(c.url(), "POST", "/v1/agents", { type: "assistant", key: "lead", config: leadConfig })).status).toBe(201);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const res = await sendTraced(c.url(), "/v1/agents/assistant/lead/messages", "write the guide", `00-${traceId}-${callerSpan}-01`);
    expect(res.body).toMatchObject({ status: "completed", reply: "Summary: done" });

    // The worker ran on the other host: its spans come from another process.
    const lead = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body;
    const workerId = lead.children[0] as string;
    const worker = (await http(c.url(), "GET", `/v1/agents/${workerId}`)).body;
    expect(worker.host).toBeTruthy();
    expect(worker.host).not.toBe(lead.host);

    let spans: ReceivedSpan[] = [];
    await waitFor(
      () => {
        spans = collector.spans().filter((s) => s.traceId === traceId);
        return spans.filter((s) => s.name.startsWith("invoke_agent")).length >= 2 && spans.filter((s) => s.name.startsWith("chat")).length >= 3 && spans.some((s) => s.name.startsWith("execute_tool"));
      },
      { timeoutMs: 30_000, message: "the spans of both hosts to reach the collector" },
    );
    // Nothing else in that trace, nothing in another.
    expect(spans).toHaveLength(6);
    expect(collector.spans()).toHaveLength(6);
    expect(collector.http.requests.every((r) => r.headers["content-type"] === "application/json")).toBe(true);

    const root = one(spans, (s) => s.name === "invoke_agent assistant" && s.attributes["gen_ai.agent.id"] === "assistant/lead", "lead invoke_agent");
    expect(root.parentSpanId).toBe(callerSpan);
    expect(root.kind).toBe(1); // SPAN_KIND_INTERNAL
    expect(root.attributes).toMatchObject({ "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "assistant", "colony.turn.status": "completed" });
    expect(root.resource).toMatchObject({ "service.name": "colony-test", "service.instance.id": lead.host });

    const leadChats = spans.filter((s) => s.parentSpanId === root.spanId && s.name.startsWith("chat")).sort((a, b) => a.startMs - b.startMs);
    expect(leadChats.map((s) => s.name)).toEqual([`chat ${MODEL}`, `chat ${MODEL}`]);
    expect(leadChats[0]!.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(leadChats[0]!.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "anthropic",
      "gen_ai.request.model": MODEL,
      "gen_ai.usage.input_tokens": 100,
      "gen_ai.usage.output_tokens": 50,
      "gen_ai.response.finish_reasons": ["tool_use"],
    });
    expect(leadChats[1]!.attributes).toMatchObject({ "gen_ai.usage.input_tokens": 300, "gen_ai.usage.output_tokens": 20, "gen_ai.response.finish_reasons": ["end_turn"] });

    const tool = one(spans, (s) => s.name === "execute_tool delegate", "execute_tool delegate");
    expect(tool.parentSpanId).toBe(root.spanId);
    expect(tool.attributes).toMatchObject({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "delegate", "gen_ai.tool.call.id": "toolu_delegate1", "colony.tool.outcome": "ok" });

    const child = one(spans, (s) => s.name === "invoke_agent assistant" && s.attributes["gen_ai.agent.id"] === workerId, "worker invoke_agent");
    expect(child.parentSpanId).toBe(tool.spanId);
    expect(child.resource["service.instance.id"]).toBe(worker.host);
    const workerChat = one(spans, (s) => s.parentSpanId === child.spanId, "worker chat");
    expect(workerChat.name).toBe(`chat ${MODEL}`);
    expect(workerChat.attributes).toMatchObject({ "gen_ai.usage.input_tokens": 1_000, "gen_ai.usage.output_tokens": 100, "gen_ai.response.finish_reasons": ["end_turn"] });

    // Nested in time as in the tree (one machine, one clock).
    expect(tool.startMs).toBeGreaterThanOrEqual(root.startMs);
    expect(child.startMs).toBeGreaterThanOrEqual(tool.startMs);
    expect(child.endMs).toBeLessThanOrEqual(tool.endMs);
    expect(tool.endMs).toBeLessThanOrEqual(root.endMs);
  });

  it("without OTEL_EXPORTER_OTLP_ENDPOINT a host loads no OpenTelemetry SDK module and sends nothing; with it, the same guard stops it (so the guard works)", async () => {
    await using collector = await startOtlpCollector();
    // Every other OTel variable set: only the endpoint turns tracing on.
    await using dev = await startColony(["dev"], { OTEL_SERVICE_NAME: "colony-test", OTEL_BSP_SCHEDULE_DELAY: "100" }, 60_000, ["--import", FORBID_OTEL]);
    expect((await http(dev.url, "POST", "/v1/agents", { type: "assistant", key: "plain" })).status).toBe(201);
    const res = await sendTraced(dev.url, "/v1/agents/assistant/plain/messages", "hello", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    expect(res.body.status).toBe("completed");
    expect(collector.http.requests).toHaveLength(0);
    expect(dev.stderr()).not.toMatch(/forbidden/);

    await expect(startColony(["dev"], { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, 60_000, ["--import", FORBID_OTEL])).rejects.toThrow(/OpenTelemetry module loaded: @opentelemetry\//);
  });

  it("on SIGTERM a host sends the spans it still holds before it exits", async () => {
    await using collector = await startOtlpCollector();
    // A batch delay far past the test: only the shutdown can send them.
    await using dev = await startColony(["dev"], { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: "60000" });
    expect((await http(dev.url, "POST", "/v1/agents", { type: "assistant", key: "late" })).status).toBe(201);
    expect((await http(dev.url, "POST", "/v1/agents/assistant/late/messages", { content: "hello" })).body.status).toBe("completed");
    expect(collector.spans()).toHaveLength(0);
    dev.signal("SIGTERM");
    expect(await dev.exited).toBe(0);
    const names = collector.spans().map((s) => s.name);
    expect(names).toContain("invoke_agent assistant");
    expect(names.some((n) => n.startsWith("chat "))).toBe(true);
  });
});
