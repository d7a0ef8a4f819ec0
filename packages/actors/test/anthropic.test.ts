import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TokenKind } from "../src/metrics.ts";
import { AnthropicModel } from "../src/model/anthropic.ts";
import type { AnthropicModelOptions } from "../src/model/anthropic.ts";
import type { ChatMessage } from "../src/model/messages.ts";
import { listPrice } from "../src/model/pricing.ts";
import type { ModelEvent, ModelRequest, ToolSpec } from "../src/model/provider.ts";
import type { FakeAnthropic } from "../src/testing/fake-anthropic.ts";
import { fakeSteps, startFakeAnthropic } from "../src/testing/fake-anthropic.ts";
import { ManualClock } from "../src/testing/manual-clock.ts";

// AnthropicModel on the real SDK, against the fake Messages API: the happy paths.

// Not claude-sonnet-4-5: the SDK prints a deprecation warning for it on every call.
const MODEL = "claude-haiku-4-5";
const weatherTool: ToolSpec = {
  name: "weather",
  description: "The forecast for a city",
  inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
};
const user = (text: string): ChatMessage => ({ role: "user", content: [{ type: "text", text }] });
const request = (over: Partial<ModelRequest> = {}): ModelRequest => ({
  model: MODEL,
  system: "You are terse.",
  messages: [user("What is the weather in Paris?")],
  tools: [weatherTool],
  maxTokens: 512,
  ...over,
});

class RecordingMetrics {
  requests: Array<{ model: string; status: string; seconds: number }> = [];
  tokens: Array<{ model: string; kind: TokenKind; tokens: number }> = [];
  costs: Array<{ model: string; usd: number }> = [];
  llmRequest(model: string, status: string, seconds: number) {
    this.requests.push({ model, status, seconds });
  }
  llmTokens(model: string, kind: TokenKind, tokens: number) {
    this.tokens.push({ model, kind, tokens });
  }
  llmCost(model: string, usd: number) {
    this.costs.push({ model, usd });
  }
}

let fake: FakeAnthropic;
beforeEach(async () => {
  fake = await startFakeAnthropic();
});
afterEach(async () => {
  await fake.close();
});

const modelFor = (over: Partial<AnthropicModelOptions> = {}) =>
  new AnthropicModel({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0, retryBaseMs: 1, ...over });

const collect = () => {
  const events: ModelEvent[] = [];
  return { events, onEvent: (e: ModelEvent) => events.push(e) };
};

describe("AnthropicModel: replies", () => {
  it("streams a plain reply: text deltas in order, usage and cost from the price table", async () => {
    fake.enqueue(
      fakeSteps.reply([{ type: "text", text: "Sunny, 24 degrees.", chunks: ["Sunny", ", 24", " degrees."] }], {
        usage: { input_tokens: 1000, output_tokens: 200, cache_read_input_tokens: 5000, cache_creation_input_tokens: 400 },
      }),
    );
    const { events, onEvent } = collect();
    const res = await modelFor().complete(request(), { onEvent });
    expect(events).toEqual([
      { kind: "text_delta", text: "Sunny" },
      { kind: "text_delta", text: ", 24" },
      { kind: "text_delta", text: " degrees." },
    ]);
    expect(res.content).toEqual([{ type: "text", text: "Sunny, 24 degrees." }]);
    expect(res.stopReason).toBe("end_turn");
    expect(res.model).toBe(MODEL);
    // claude-haiku-4: $1 in, $5 out, $0.10 cache read, $1.25 cache write per million tokens.
    expect(res.usage).toEqual({ inputTokens: 1000, outputTokens: 200, cacheReadTokens: 5000, cacheWriteTokens: 400, costUsd: expect.closeTo(0.003, 12) });
    expect(fake.requests).toHaveLength(1);
  });

  it("prices with priceTable overriding and extending the defaults", async () => {
    fake.enqueue(fakeSteps.text("a", { usage: { input_tokens: 1_000_000, output_tokens: 0 } }));
    fake.enqueue(fakeSteps.text("b", { model: "house-model-7", usage: { input_tokens: 1_000_000, output_tokens: 1_000_000 } }));
    fake.enqueue(fakeSteps.text("c", { model: "unknown-model", usage: { input_tokens: 1_000_000, output_tokens: 1_000_000 } }));
    const model = modelFor({ priceTable: { "claude-haiku-4": listPrice(2, 10), "house-model": listPrice(0.5, 1) } });
    expect((await model.complete(request())).usage.costUsd).toBeCloseTo(2, 9);
    expect((await model.complete(request())).usage.costUsd).toBeCloseTo(1.5, 9);
    expect((await model.complete(request())).usage.costUsd).toBe(0);
  });

  it("reassembles a tool_use input streamed as input_json_delta chunks and emits tool_use when the block starts", async () => {
    const input = { city: "Paris", days: [1, 2, 3], opts: { units: "metric" } };
    const json = JSON.stringify(input);
    fake.enqueue(
      fakeSteps.reply([{ type: "tool_use", id: "toolu_01", name: "weather", input, chunks: ["", json.slice(0, 5), json.slice(5, 17), json.slice(17, 30), json.slice(30)] }]),
    );
    const { events, onEvent } = collect();
    const res = await modelFor().complete(request(), { onEvent });
    expect(res.content).toEqual([{ type: "tool_use", id: "toolu_01", name: "weather", input }]);
    expect(res.stopReason).toBe("tool_use");
    expect(events).toEqual([{ kind: "tool_use", id: "toolu_01", name: "weather" }]);
  });

  it("returns two parallel tool_use blocks of one response in order, after the text", async () => {
    fake.enqueue(
      fakeSteps.reply([
        { type: "text", text: "Checking both." },
        { type: "tool_use", id: "toolu_a", name: "weather", input: { city: "Paris" } },
        { type: "tool_use", id: "toolu_b", name: "weather", input: { city: "Oslo" } },
      ]),
    );
    const { events, onEvent } = collect();
    const res = await modelFor().complete(request(), { onEvent });
    expect(res.content).toEqual([
      { type: "text", text: "Checking both." },
      { type: "tool_use", id: "toolu_a", name: "weather", input: { city: "Paris" } },
      { type: "tool_use", id: "toolu_b", name: "weather", input: { city: "Oslo" } },
    ]);
    expect(events.map((e) => (e.kind === "tool_use" ? e.id : e.text))).toEqual(["Checking ", "both.", "toolu_a", "toolu_b"]);
  });

  it("returns tool input that breaks the tool's schema, or is not an object, as the model sent it", async () => {
    fake.enqueue(
      fakeSteps.reply([
        { type: "tool_use", id: "toolu_1", name: "weather", input: { town: 5, extra: true } },
        { type: "tool_use", id: "toolu_2", name: "weather", json: "[1,2]" },
        { type: "tool_use", id: "toolu_3", name: "weather", json: '"Paris"' },
      ]),
    );
    const res = await modelFor().complete(request());
    expect(res.content).toEqual([
      { type: "tool_use", id: "toolu_1", name: "weather", input: { town: 5, extra: true } },
      { type: "tool_use", id: "toolu_2", name: "weather", input: [1, 2] },
      { type: "tool_use", id: "toolu_3", name: "weather", input: "Paris" },
    ]);
  });

  it("maps API stop reasons outside Colony's vocabulary to the closest one", async () => {
    fake.enqueue(fakeSteps.text("cut", { stopReason: "max_tokens" }), fakeSteps.text("full", { stopReason: "model_context_window_exceeded" }), fakeSteps.text("p", { stopReason: "pause_turn" }));
    const model = modelFor();
    expect((await model.complete(request())).stopReason).toBe("max_tokens");
    expect((await model.complete(request())).stopReason).toBe("max_tokens");
    expect((await model.complete(request())).stopReason).toBe("end_turn");
  });

  it("a listener that throws does not fail the call", async () => {
    fake.enqueue(fakeSteps.text("still fine"));
    const res = await modelFor().complete(request(), {
      onEvent: () => {
        throw new Error("listener bug");
      },
    });
    expect(res.content).toEqual([{ type: "text", text: "still fine" }]);
  });
});

describe("AnthropicModel: what it sends", () => {
  it("sends system, Colony's blocks mapped to the API's (tool_result with tool_use_id and is_error) and tools with input_schema, streaming", async () => {
    fake.enqueue(fakeSteps.text("done"));
    const messages: ChatMessage[] = [
      user("Weather in Paris and Atlantis?"),
      {
        role: "assistant",
        content: [
          { type: "text", text: "Looking." },
          { type: "tool_use", id: "toolu_p", name: "weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_a", name: "weather", input: { city: "Atlantis" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", toolUseId: "toolu_p", content: "sunny", isError: false },
          { type: "tool_result", toolUseId: "toolu_a", content: "no such city", isError: true },
        ],
      },
    ];
    // The mapping alone; the cache breakpoints added on top are the next test's.
    await modelFor({ promptCaching: false }).complete(request({ messages }));
    const sent = fake.requests[0]!;
    expect(sent.auth).toBe("bearer");
    expect(sent.body).toMatchObject({ model: MODEL, max_tokens: 512, stream: true, system: "You are terse." });
    expect(sent.body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Atlantis?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Looking." },
          { type: "tool_use", id: "toolu_p", name: "weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_a", name: "weather", input: { city: "Atlantis" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_p", content: "sunny", is_error: false },
          { type: "tool_result", tool_use_id: "toolu_a", content: "no such city", is_error: true },
        ],
      },
    ]);
    expect(sent.body.tools).toEqual([{ name: "weather", description: weatherTool.description, input_schema: weatherTool.inputSchema }]);
  });

  it("marks prompt-cache breakpoints: last tool, system prompt, the previous call's last user message and the final message", async () => {
    fake.enqueue(fakeSteps.text("one"), fakeSteps.text("two"));
    const history: ChatMessage[] = [user("first"), { role: "assistant", content: [{ type: "text", text: "reply" }] }, user("second")];
    await modelFor().complete(request({ messages: history }));
    const { body } = fake.requests[0]!;
    const ephemeral = { type: "ephemeral" };
    expect(body.system).toEqual([{ type: "text", text: "You are terse.", cache_control: ephemeral }]);
    expect(body.tools).toEqual([{ name: "weather", description: weatherTool.description, input_schema: weatherTool.inputSchema, cache_control: ephemeral }]);
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "first", cache_control: ephemeral }] },
      { role: "assistant", content: [{ type: "text", text: "reply" }] },
      { role: "user", content: [{ type: "text", text: "second", cache_control: ephemeral }] },
    ]);
    // A request that says its prefix is not worth caching (a compaction) gets none.
    await modelFor().complete(request({ messages: history, cache: false }));
    expect(JSON.stringify(fake.requests[1]!.body)).not.toContain("cache_control");
  });

  it("leaves out an empty system prompt, an empty tool list and empty text blocks", async () => {
    fake.enqueue(fakeSteps.text("ok"));
    await modelFor().complete(request({ system: "", tools: [], messages: [user("hi"), { role: "assistant", content: [{ type: "text", text: "" }] }, user("again")] }));
    const { body } = fake.requests[0]!;
    expect(body).not.toHaveProperty("system");
    expect(body).not.toHaveProperty("tools");
    expect(body.messages![1]).toEqual({ role: "assistant", content: [{ type: "text", text: "(empty)" }] });
  });
});

describe("AnthropicModel: metrics", () => {
  it("reports one request with status ok and its duration, tokens per kind and cost", async () => {
    const clock = new ManualClock();
    const metrics = new RecordingMetrics();
    fake.respond(() => {
      clock.advance(1_500);
      return fakeSteps.text("hi", { model: "claude-haiku-4-5-20251001", usage: { input_tokens: 1000, output_tokens: 200, cache_read_input_tokens: 5000, cache_creation_input_tokens: 400 } });
    });
    const res = await modelFor({ metrics, clock }).complete(request());
    expect(metrics.requests).toEqual([{ model: MODEL, status: "ok", seconds: 1.5 }]);
    expect(metrics.tokens).toEqual([
      { model: MODEL, kind: "input", tokens: 1000 },
      { model: MODEL, kind: "output", tokens: 200 },
      { model: MODEL, kind: "cache_read", tokens: 5000 },
      { model: MODEL, kind: "cache_write", tokens: 400 },
    ]);
    expect(metrics.costs).toEqual([{ model: MODEL, usd: res.usage.costUsd }]);
    expect(res.usage.costUsd).toBeCloseTo(0.003, 12);
  });

  it("reports a failed call once, with its final error class and no tokens", async () => {
    const metrics = new RecordingMetrics();
    const fast = { headers: { "retry-after-ms": "1" } };
    fake.enqueue(fakeSteps.httpError(500, fast), fakeSteps.httpError(500, fast));
    await expect(modelFor({ metrics, maxRetries: 1 }).complete(request())).rejects.toMatchObject({ code: "unavailable" });
    expect(fake.requests).toHaveLength(2);
    expect(metrics.requests.map((r) => r.status)).toEqual(["500"]);
    expect(metrics.tokens).toEqual([]);
    expect(metrics.costs).toEqual([]);
  });
});

describe("AnthropicModel: options", () => {
  it("rejects bad options naming the field", () => {
    expect(() => new AnthropicModel({ apiKey: "" })).toThrow(/apiKey/);
    expect(() => new AnthropicModel({ apiKey: "k", midStreamRetries: -1 })).toThrow(/midStreamRetries/);
    expect(() => new AnthropicModel({ apiKey: "k", baseURL: "ftp://x" })).toThrow(/baseURL/);
    expect(() => new AnthropicModel({ apiKey: "k", priceTable: { "claude-x": { input: -1, output: 1, cacheRead: 0, cacheWrite: 0 } } })).toThrow(/priceTable\.claude-x\.input/);
  });
});
