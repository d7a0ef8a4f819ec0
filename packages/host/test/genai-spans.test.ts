import { describe, expect, it } from "vitest";
import { SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { AgentEvent, AgentEventRecord } from "@colony/actors";
import { childTraceparent, parseTraceparent, toolCallSpanId, toolCallTraceparent, zeroUsage } from "@colony/actors";
import { ChosenIdGenerator, GenAiSpanBuilder } from "../src/observability/genai-spans.ts";
import { loadConfig } from "../src/config.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const MSG_SPAN = "a1b2c3d4e5f60718";

function setup() {
  const exporter = new InMemorySpanExporter();
  const ids = new ChosenIdGenerator();
  const provider = new TracerProvider({ idGenerator: ids, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const builder = new GenAiSpanBuilder(provider.getTracer("test"), ids);
  let at = 1_000;
  const feed = (event: AgentEvent, o: { messageId?: string; parentSpanId?: string; traceId?: string } = {}) => {
    at += 10;
    const rec: AgentEventRecord = { agent: "assistant/a", at, turn: 1, host: "h1", messageId: o.messageId ?? "m1", traceId: o.traceId ?? TRACE, spanId: MSG_SPAN, event };
    if (o.parentSpanId) rec.parentSpanId = o.parentSpanId;
    builder.record(rec);
  };
  const spans = () => exporter.getFinishedSpans();
  const byName = (name: string): ReadableSpan[] => spans().filter((s) => s.name === name);
  return { builder, feed, spans, byName };
}

const usage = (input: number, output: number) => ({ ...zeroUsage(), inputTokens: input, outputTokens: output });

describe("GenAI spans from an activation's events", () => {
  it("a turn without a caller is a root span of the message's trace; model calls and tool calls are its children", () => {
    const { feed, spans, byName } = setup();
    feed({ kind: "turn_started", content: "hi" });
    feed({ kind: "model_request", iteration: 1, model: "claude-x", provider: "anthropic", messages: 1 });
    feed({ kind: "model_response", iteration: 1, stopReason: "tool_use", text: "", toolCalls: [{ id: "toolu_1", name: "remember" }], usage: usage(10, 5), durationMs: 10 });
    feed({ kind: "tool_call", callId: "toolu_1", tool: "remember", input: {} });
    feed({ kind: "tool_result", callId: "toolu_1", tool: "remember", outcome: "ok", isError: false, content: "ok", durationMs: 10 });
    feed({ kind: "turn_finished", status: "completed", reply: "done", usage: usage(10, 5) });

    expect(spans().map((s) => s.name).sort()).toEqual(["chat claude-x", "execute_tool remember", "invoke_agent assistant"]);
    const [root] = byName("invoke_agent assistant");
    expect(root!.spanContext().traceId).toBe(TRACE);
    expect(root!.parentSpanContext).toBeUndefined();
    expect(root!.attributes).toMatchObject({ "gen_ai.agent.id": "assistant/a", "gen_ai.usage.input_tokens": 10, "colony.turn.status": "completed" });
    const [tool] = byName("execute_tool remember");
    // The id the delegate tool would pass on: derived from the message's span and the call id.
    expect(tool!.spanContext().spanId).toBe(toolCallSpanId(TRACE, MSG_SPAN, "toolu_1"));
    expect(tool!.parentSpanContext?.spanId).toBe(root!.spanContext().spanId);
    const [chat] = byName("chat claude-x");
    expect(chat!.attributes).toMatchObject({ "gen_ai.response.finish_reasons": ["tool_use"], "gen_ai.usage.output_tokens": 5 });
    expect(chat!.duration[0] * 1e3 + chat!.duration[1] / 1e6).toBeCloseTo(10, 5);
  });

  it("a turn paused for an approval ends its span; the resumed part is a second span under the same caller", () => {
    const { feed, byName } = setup();
    feed({ kind: "turn_started", content: "hi" }, { parentSpanId: "00f067aa0ba902b7" });
    feed({ kind: "approval_requested", callId: "toolu_1", tool: "pay", input: {}, deadline: 9e12 });
    feed({ kind: "status", status: "awaiting_approval" });
    expect(byName("invoke_agent assistant")).toHaveLength(1);
    feed({ kind: "tool_call", callId: "toolu_1", tool: "pay", input: {} }, { parentSpanId: "00f067aa0ba902b7" });
    feed({ kind: "tool_result", callId: "toolu_1", tool: "pay", outcome: "ok", isError: false, content: "ok", durationMs: 10 }, { parentSpanId: "00f067aa0ba902b7" });
    feed({ kind: "turn_finished", status: "completed", reply: "paid", usage: usage(1, 1) }, { parentSpanId: "00f067aa0ba902b7" });
    const turns = byName("invoke_agent assistant");
    expect(turns).toHaveLength(2);
    expect(turns.map((t) => t.parentSpanContext?.spanId)).toEqual(["00f067aa0ba902b7", "00f067aa0ba902b7"]);
    expect(turns.map((t) => t.attributes["colony.turn.status"])).toEqual(["awaiting_approval", "completed"]);
    expect(turns[1]!.attributes["colony.turn.resumed"]).toBe(true);
    expect(byName("execute_tool pay")[0]!.parentSpanContext?.spanId).toBe(turns[1]!.spanContext().spanId);
  });

  it("a failed model call and a denied tool call are error spans; a failed turn is an error span", () => {
    const { feed, byName } = setup();
    feed({ kind: "turn_started", content: "hi" });
    feed({ kind: "model_request", iteration: 1, model: "claude-x", provider: "anthropic", messages: 1 });
    feed({ kind: "model_error", iteration: 1, error: "overloaded", durationMs: 5 });
    feed({ kind: "tool_result", callId: "toolu_2", tool: "rm", outcome: "denied", isError: true, content: "denied", durationMs: 0 });
    feed({ kind: "turn_finished", status: "failed", reply: "", usage: zeroUsage(), error: { code: "model_failed", message: "overloaded" } });
    expect(byName("chat claude-x")[0]!.status.code).toBe(SpanStatusCode.ERROR);
    const denied = byName("execute_tool rm")[0]!;
    expect(denied.status.code).toBe(SpanStatusCode.ERROR);
    expect(denied.attributes).toMatchObject({ "error.type": "denied", "gen_ai.tool.call.id": "toolu_2" });
    const turn = byName("invoke_agent assistant")[0]!;
    expect(turn.status.code).toBe(SpanStatusCode.ERROR);
    expect(turn.attributes["error.type"]).toBe("model_failed");
  });

  it("events outside a traced turn make no span; shutdown ends what is open", () => {
    const { builder, feed, spans } = setup();
    builder.record({ agent: "assistant/a", at: 1, turn: 1, event: { kind: "status", status: "idle" } });
    expect(spans()).toHaveLength(0);
    feed({ kind: "turn_started", content: "hi" });
    feed({ kind: "model_request", iteration: 1, model: "claude-x", messages: 1 });
    builder.endAll(5_000);
    expect(spans().map((s) => s.name).sort()).toEqual(["chat claude-x", "invoke_agent assistant"]);
    expect(spans().find((s) => s.name.startsWith("invoke"))!.attributes["colony.turn.status"]).toBe("interrupted");
  });
});

describe("a tool call's traceparent", () => {
  it("keeps the trace, derives its span id from the message's span and the call id, and is the same on every host", () => {
    const parent = childTraceparent(`00-${TRACE}-00f067aa0ba902b7-01`);
    const a = toolCallTraceparent(parent, "toolu_1")!;
    expect(parseTraceparent(a)).toMatchObject({ traceId: TRACE, flags: "01", spanId: toolCallSpanId(TRACE, parseTraceparent(parent)!.spanId, "toolu_1") });
    expect(toolCallTraceparent(parent, "toolu_1")).toBe(a);
    expect(toolCallTraceparent(parent, "toolu_2")).not.toBe(a);
    expect(toolCallTraceparent("garbage", "toolu_1")).toBeUndefined();
  });
});

describe("OTEL_* settings", () => {
  it("no endpoint: tracing off; an endpoint: the traces URL, service name and batch delay; disabled wins", () => {
    expect(loadConfig({}).otel).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: "x" }).otel).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).otel).toEqual({ tracesUrl: "http://collector:4318/v1/traces", serviceName: "colony", scheduleDelayMs: 5_000 });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://b/otlp/traces", OTEL_BSP_SCHEDULE_DELAY: "100" }).otel).toMatchObject({
      tracesUrl: "https://b/otlp/traces",
      scheduleDelayMs: 100,
    });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_SDK_DISABLED: "true" }).otel).toBeUndefined();
  });

  it("a bad value names the variable; headers are never echoed", () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT=.*http:\/\/ or https:\/\//);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    let message = "";
    try {
      loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: "authorization Bearer s3cr3t-value" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/OTEL_EXPORTER_OTLP_HEADERS=\(\d+ characters, not shown\)/);
    expect(message).not.toContain("s3cr3t");
  });
});
