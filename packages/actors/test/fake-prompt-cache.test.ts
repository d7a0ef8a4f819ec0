import { describe, expect, it } from "vitest";
import { fakeSteps, startFakeAnthropic } from "../src/testing/fake-anthropic.ts";
import type { FakeRequestBody } from "../src/testing/fake-anthropic.ts";
import { FakePromptCache } from "../src/testing/fake-prompt-cache.ts";

// The fake Messages API's model of the prompt cache: it must be honest enough
// that a test of Colony's caching can fail (a wrong breakpoint reads nothing).

const MODEL = "claude-sonnet-4-5";
const mark = { cache_control: { type: "ephemeral" } };
/** A text block of exactly `tokens` estimated tokens (its JSON is 4 × tokens characters). */
const block = (tokens: number, tag: string, marked = false) => {
  const overhead = JSON.stringify({ type: "text", text: "" }).length + tag.length;
  return { type: "text", text: tag + "x".repeat(tokens * 4 - overhead), ...(marked ? mark : {}) };
};
const bodyOf = (messages: FakeRequestBody["messages"], extra: Partial<FakeRequestBody> = {}): FakeRequestBody => ({ model: MODEL, max_tokens: 10, messages, ...extra });

describe("fake prompt cache", () => {
  it("writes the prefix up to each breakpoint, then reads the longest one a later request starts with", () => {
    const cache = new FakePromptCache({ minTokens: 100 });
    const system = [block(300, "s", true)];
    const first = [{ role: "user", content: [block(50, "q1", true)] }];
    expect(cache.account(bodyOf(first, { system }))).toEqual({ input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 350 });
    const second = [{ role: "user", content: [block(50, "q1")] }, { role: "assistant", content: [block(20, "a1")] }, { role: "user", content: [block(30, "q2", true)] }];
    expect(cache.account(bodyOf(second, { system }))).toEqual({ input_tokens: 0, cache_read_input_tokens: 350, cache_creation_input_tokens: 50 });
    // The previous breakpoint (q2) is found looking back from the new one (q3); the unmarked tail (q4) is plain input.
    const third = [...second.slice(0, 2), { role: "user", content: [block(30, "q2"), block(40, "q3", true), block(25, "q4")] }];
    expect(cache.account(bodyOf(third, { system }))).toEqual({ input_tokens: 25, cache_read_input_tokens: 400, cache_creation_input_tokens: 40 });
    // Only breakpoints are looked up from: without one after it, the cached conversation is not found.
    const unmarked = [...second.slice(0, 2), { role: "user", content: [block(30, "q2"), block(40, "q3")] }];
    expect(cache.account(bodyOf(unmarked, { system }))).toEqual({ input_tokens: 140, cache_read_input_tokens: 300, cache_creation_input_tokens: 0 });
  });

  it("without breakpoints nothing is cached: everything is input", () => {
    const cache = new FakePromptCache({ minTokens: 1 });
    const messages = [{ role: "user", content: [block(500, "q")] }];
    for (let i = 0; i < 2; i++) expect(cache.account(bodyOf(messages, { system: "plain system prompt" }))).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(cache.size).toBe(0);
  });

  it("a prefix shorter than the minimum is not written", () => {
    const cache = new FakePromptCache({ minTokens: 1024 });
    const messages = [{ role: "user", content: [block(1000, "q", true)] }];
    expect(cache.account(bodyOf(messages))).toEqual({ input_tokens: 1000, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(cache.account(bodyOf(messages))).toEqual({ input_tokens: 1000, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
  });

  it("any change before a breakpoint misses (a different system prompt, model or earlier block)", () => {
    const cache = new FakePromptCache({ minTokens: 1 });
    const messages = [{ role: "user", content: [block(100, "q", true)] }];
    cache.account(bodyOf(messages, { system: [block(100, "s", true)] }));
    expect(cache.account(bodyOf(messages, { system: [block(100, "S", true)] })).cache_read_input_tokens).toBe(0);
    expect(cache.account(bodyOf(messages, { system: [block(100, "s", true)], model: "claude-opus-4-1" })).cache_read_input_tokens).toBe(0);
    expect(cache.account(bodyOf(messages, { system: [block(100, "s", true)] })).cache_read_input_tokens).toBe(200);
  });

  it("looks back at most 20 blocks from a breakpoint for an earlier cached prefix", () => {
    const cache = new FakePromptCache({ minTokens: 1 });
    const start = { role: "user", content: [block(10, "start", true)] };
    cache.account(bodyOf([start]));
    const grown = (n: number) => [{ role: "user", content: [block(10, "start"), ...Array.from({ length: n }, (_, i) => block(10, `b${i}`, i === n - 1))] }];
    // The cached block is 19 blocks behind the breakpoint: found.
    expect(cache.account(bodyOf(grown(19))).cache_read_input_tokens).toBe(10);
    const other = new FakePromptCache({ minTokens: 1 });
    other.account(bodyOf([start]));
    // 20 blocks behind: out of reach, so written afresh.
    expect(other.account(bodyOf(grown(20)))).toEqual({ input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 210 });
  });

  it("served over HTTP: replies report modelled usage when the step does not set it, and bad markers get the API's 400", async () => {
    await using fake = await startFakeAnthropic({ promptCaching: { minTokens: 1 } });
    fake.respond(fakeSteps.text("twelve chars"));
    const post = (payload: unknown) =>
      fetch(`${fake.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": fake.apiKey }, body: JSON.stringify(payload) });
    const payload = bodyOf([{ role: "user", content: [block(100, "q", true)] }]);
    const first = (await (await post(payload)).json()) as { usage: Record<string, number> };
    expect(first.usage).toEqual({ input_tokens: 0, output_tokens: 3, cache_read_input_tokens: 0, cache_creation_input_tokens: 100 });
    const second = (await (await post(payload)).json()) as { usage: Record<string, number> };
    expect(second.usage).toMatchObject({ input_tokens: 0, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 });

    const five = bodyOf([{ role: "user", content: Array.from({ length: 5 }, (_, i) => block(10, `m${i}`, true)) }]);
    const tooMany = await post(five);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("maximum of 4") } });
    const empty = await post(bodyOf([{ role: "user", content: [{ type: "text", text: " ", ...mark }] }]));
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { message: string } }).error.message).toContain("empty text blocks");
  });
});
