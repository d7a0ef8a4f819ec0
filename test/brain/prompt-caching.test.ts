import { afterEach, describe, expect, it } from "vitest";
import { AnthropicModel, DEFAULT_PRICES, ToolRegistry, costOf, priceOf, recallTool, rememberTool } from "@colony/actors";
import type { Usage } from "@colony/actors";
import { FAKE_ANTHROPIC_API_KEY, fakeSteps, startFakeAnthropic } from "@colony/actors/testing";
import type { FakeAnthropic } from "@colony/actors/testing";
import { ColonyMetrics } from "@colony/host";
import type { HostNode } from "@colony/host";
import { call, startTestHost } from "@colony/host/testing";

// Prompt caching end to end: an in-process host, the real SDK, and the fake
// Messages API modelling Anthropic's prompt cache. The same 10-turn
// conversation runs with caching off (no cache_control sent, as before) and
// on: with it on, what each turn pays full price for stays flat while the
// conversation grows, and the cached part is billed at the cache prices.

const MODEL = "claude-haiku-4-5";
/** Haiku 4.5 caches nothing shorter than 4,096 tokens: the system prompt alone passes that. */
const MIN_CACHEABLE_TOKENS = 4096;
const TURNS = 10;
const SYSTEM_PROMPT = Array.from({ length: 220 }, (_, i) => `Rule ${i + 1}: answer precisely, cite the clause you rely on and keep to the house style.`).join("\n");
const question = (n: number) => `Question ${n}: what does clause ${n} of the contract say about delivery dates, penalties and who pays for transport?`;
const answer = (n: number) =>
  `Answer ${n}: ` + Array.from({ length: 12 }, (_, i) => `point ${i + 1} of clause ${n} says the supplier delivers on the agreed date or pays a penalty`).join("; ") + ".";

let fake: FakeAnthropic | undefined;
let host: (HostNode & AsyncDisposable) | undefined;
afterEach(async () => {
  await host?.shutdown();
  host = undefined;
  await fake?.close();
  fake = undefined;
});

interface Run {
  usage: Usage[];
  metrics: string;
}

async function converse(promptCaching: boolean): Promise<Run> {
  fake = await startFakeAnthropic({ promptCaching: { minTokens: MIN_CACHEABLE_TOKENS } });
  fake.respond((req) => fakeSteps.text(answer(req.index + 1)));
  // The host's own metrics, so the model's counts show in its /metrics.
  const metrics = new ColonyMetrics({ defaultMetrics: false });
  const model = new AnthropicModel({ apiKey: FAKE_ANTHROPIC_API_KEY, baseURL: fake.url, maxRetries: 0, promptCaching, metrics });
  host = await startTestHost({ model, metrics, tools: new ToolRegistry([rememberTool, recallTool]) });
  const spawned = await call(host, "POST", "/v1/agents", {
    type: "assistant",
    key: "clerk",
    config: { model: MODEL, systemPrompt: SYSTEM_PROMPT, tools: ["remember", "recall"] },
  });
  expect(spawned.status).toBe(201);
  const usage: Usage[] = [];
  for (let n = 1; n <= TURNS; n++) {
    const res = await call(host, "POST", "/v1/agents/assistant/clerk/messages", { content: question(n) });
    expect(res.body).toMatchObject({ status: "completed", reply: answer(n) });
    usage.push(res.body.usage as Usage);
  }
  return { usage, metrics: (await call(host, "GET", "/metrics")).text };
}

const fullPrice = (u: Usage) => u.inputTokens;
const uncached = (u: Usage) => u.inputTokens + u.cacheWriteTokens;
const metric = (text: string, kind: string) => Number(new RegExp(`^colony_llm_tokens_total\\{model="${MODEL}",kind="${kind}"\\} (\\d+)`, "m").exec(text)?.[1] ?? NaN);
const sum = (xs: Usage[], f: (u: Usage) => number) => xs.reduce((n, u) => n + f(u), 0);

describe("prompt caching through the real SDK against the fake Messages API", { timeout: 60_000 }, () => {
  it("keeps the input billed at full price per turn flat as the conversation grows, and counts cache reads and writes at their prices", async () => {
    const before = await converse(false);
    await host!.shutdown();
    host = undefined;
    await fake!.close();
    const after = await converse(true);

    if (process.env.COLONY_TEST_FIGURES) {
      const row = (u: Usage, i: number, b: Usage) =>
        `turn ${i + 1}: before input ${b.inputTokens} $${b.costUsd.toFixed(6)} | after input ${u.inputTokens} cache_write ${u.cacheWriteTokens} cache_read ${u.cacheReadTokens} $${u.costUsd.toFixed(6)}`;
      console.info(after.usage.map((u, i) => row(u, i, before.usage[i]!)).join("\n"));
    }

    // Before: no cache_control, so every turn pays full price for the whole, growing context.
    expect(before.usage.every((u) => u.cacheReadTokens === 0 && u.cacheWriteTokens === 0)).toBe(true);
    for (let t = 1; t < TURNS; t++) expect(fullPrice(before.usage[t]!)).toBeGreaterThan(fullPrice(before.usage[t - 1]!));
    expect(fullPrice(before.usage[TURNS - 1]!) - fullPrice(before.usage[1]!)).toBeGreaterThan(2 * fullPrice(after.usage[1]!) + 2 * after.usage[1]!.cacheWriteTokens);

    // After: the first turn writes the prefix (tools, system prompt, question) to the cache...
    const first = after.usage[0]!;
    expect(first.cacheWriteTokens).toBeGreaterThanOrEqual(MIN_CACHEABLE_TOKENS);
    expect(first.cacheReadTokens).toBe(0);
    // ...and every later turn reads all of the previous one from it: only what is new is uncached.
    for (let t = 1; t < TURNS; t++) {
      const u = after.usage[t]!;
      const prev = after.usage[t - 1]!;
      expect(u.cacheReadTokens, `turn ${t + 1} reads everything the previous turn cached`).toBe(prev.cacheReadTokens + prev.cacheWriteTokens);
      expect(u.cacheReadTokens).toBeGreaterThan(prev.cacheReadTokens);
    }
    const last = after.usage[TURNS - 1]!;
    expect(uncached(last)).toBeLessThanOrEqual(1.5 * uncached(after.usage[1]!));
    expect(fullPrice(last)).toBeLessThanOrEqual(1.5 * Math.max(1, fullPrice(after.usage[1]!)));
    // The same conversation, the same total context each turn: caching only moves tokens between the kinds.
    after.usage.forEach((u, t) => expect(u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens).toBe(before.usage[t]!.inputTokens));

    // Cost: each kind at its own price (Haiku 4.5: input $1, output $5, cache read $0.10, cache write $1.25 per million).
    const price = priceOf(MODEL, DEFAULT_PRICES)!;
    expect(price).toEqual({ input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 });
    for (const u of after.usage) {
      const expected = (u.inputTokens * 1 + u.outputTokens * 5 + u.cacheReadTokens * 0.1 + u.cacheWriteTokens * 1.25) / 1e6;
      expect(u.costUsd).toBeCloseTo(expected, 12);
      expect(u.costUsd).toBeCloseTo(costOf(MODEL, u), 12);
    }
    expect(sum(after.usage.slice(1), (u) => u.costUsd)).toBeLessThan(0.5 * sum(before.usage.slice(1), (u) => u.costUsd));

    // The host's metrics count every kind.
    expect(metric(after.metrics, "cache_read")).toBe(sum(after.usage, (u) => u.cacheReadTokens));
    expect(metric(after.metrics, "cache_write")).toBe(sum(after.usage, (u) => u.cacheWriteTokens));
    expect(metric(after.metrics, "input")).toBe(sum(after.usage, (u) => u.inputTokens));
    expect(metric(after.metrics, "output")).toBe(sum(after.usage, (u) => u.outputTokens));
    expect(metric(before.metrics, "cache_read")).toBe(0);
  });

  it("a step that appends more than the API's 20-block lookback (12 parallel tool calls) still reads the previous call's cache", async () => {
    fake = await startFakeAnthropic({ promptCaching: { minTokens: MIN_CACHEABLE_TOKENS } });
    const calls = Array.from({ length: 12 }, (_, i) => ({ type: "tool_use" as const, id: `toolu_${i}`, name: "recall", input: { key: `clause-${i}` } }));
    fake.enqueue(fakeSteps.reply(calls), fakeSteps.text("None of those clauses is on file."));
    const model = new AnthropicModel({ apiKey: FAKE_ANTHROPIC_API_KEY, baseURL: fake.url, maxRetries: 0 });
    host = await startTestHost({ model, tools: new ToolRegistry([rememberTool, recallTool]) });
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "wide", config: { model: MODEL, systemPrompt: SYSTEM_PROMPT, tools: ["recall"] } });
    const res = await call(host, "POST", "/v1/agents/assistant/wide/messages", { content: question(1) });
    expect(res.body).toMatchObject({ status: "completed", reply: "None of those clauses is on file." });
    const trace = await call(host, "GET", "/v1/agents/assistant/wide/trace");
    const responses = (trace.body.entries as { event: { kind: string; usage: Usage } }[]).filter((e) => e.event.kind === "model_response").map((e) => e.event.usage);
    expect(responses).toHaveLength(2);
    const [first, second] = responses as [Usage, Usage];
    expect(first.cacheWriteTokens).toBeGreaterThanOrEqual(MIN_CACHEABLE_TOKENS);
    // 24 blocks were appended after the question (12 tool_use, 12 tool_result): only the breakpoint
    // on the question, where the first call wrote its cache, lets the second call find all of it.
    expect(second.cacheReadTokens).toBe(first.cacheWriteTokens);
    expect(second.inputTokens).toBe(0);
  });

  it("limits count cached tokens too: caching does not stretch a token budget", async () => {
    fake = await startFakeAnthropic({ promptCaching: { minTokens: MIN_CACHEABLE_TOKENS } });
    fake.respond((req) => fakeSteps.text(answer(req.index + 1)));
    const model = new AnthropicModel({ apiKey: FAKE_ANTHROPIC_API_KEY, baseURL: fake.url, maxRetries: 0 });
    host = await startTestHost({ model });
    // Each call reads ~5,000 tokens of context; with caching its input_tokens is 0.
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "budget", config: { model: MODEL, systemPrompt: SYSTEM_PROMPT, limits: { tokenBudget: 8_000 } } });
    for (const n of [1, 2]) expect((await call(host, "POST", "/v1/agents/assistant/budget/messages", { content: question(n) })).body.status).toBe("completed");
    const third = await call(host, "POST", "/v1/agents/assistant/budget/messages", { content: question(3) });
    expect(third.body).toMatchObject({ status: "failed", error: { code: "token_budget_exhausted" } });
    expect(fake.requests).toHaveLength(2);
  });
});
