import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../../test/harness/wait.ts";
import { fakeSteps, startFakeAnthropic } from "../src/testing/fake-anthropic.ts";

// The fake Messages API itself, spoken to by the real SDK and by plain fetch.
const MODEL = "claude-haiku-4-5";
const body = (extra: Record<string, unknown> = {}) => ({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "hi" }], ...extra });
const post = (url: string, headers: Record<string, string>, payload: unknown = body()) =>
  fetch(`${url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(payload) });

describe("fake Anthropic server", () => {
  it("streams SSE the way the SDK reassembles: text deltas, chunked tool input, usage, stop reason", async () => {
    await using fake = await startFakeAnthropic();
    fake.enqueue(
      fakeSteps.reply(
        [
          { type: "text", text: "Checking the weather." },
          { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Paris", days: [1, 2] } },
        ],
        { usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 } },
      ),
    );
    const client = new Anthropic({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 });
    const stream = client.messages.stream(body() as Anthropic.MessageCreateParamsNonStreaming);
    const texts: string[] = [];
    const jsonChunks: string[] = [];
    stream.on("text", (t) => texts.push(t));
    stream.on("streamEvent", (e) => {
      if (e.type === "content_block_delta" && e.delta.type === "input_json_delta") jsonChunks.push(e.delta.partial_json);
    });
    const message = await stream.finalMessage();
    expect(texts).toEqual(["Checking ", "the ", "weather."]);
    expect(jsonChunks.length).toBeGreaterThan(2);
    expect(message.content).toEqual([
      { type: "text", text: "Checking the weather." },
      { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Paris", days: [1, 2] } },
    ]);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.usage).toMatchObject({ input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 });
    expect(fake.requests[0]!.body.stream).toBe(true);
  });

  it("answers plain JSON when the request does not stream", async () => {
    await using fake = await startFakeAnthropic();
    fake.enqueue(fakeSteps.toolUse("lookup", { q: "x" }, { id: "toolu_9", usage: { input_tokens: 4, output_tokens: 2 } }));
    const client = new Anthropic({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 });
    const message = await client.messages.create(body() as Anthropic.MessageCreateParamsNonStreaming);
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      model: MODEL,
      stop_reason: "tool_use",
      content: [{ type: "tool_use", id: "toolu_9", name: "lookup", input: { q: "x" } }],
      usage: { input_tokens: 4, output_tokens: 2 },
    });
    expect(fake.requests[0]!.body.stream).toBeUndefined();
  });

  it("accepts the key as x-api-key or as Authorization: Bearer, and nothing else", async () => {
    await using fake = await startFakeAnthropic({ apiKey: "k-123" });
    fake.respond(fakeSteps.text("ok"));
    expect((await post(fake.url, { "x-api-key": "k-123" })).status).toBe(200);
    expect((await post(fake.url, { authorization: "Bearer k-123" })).status).toBe(200);
    const wrong = await post(fake.url, { "x-api-key": "nope" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect((await post(fake.url, {})).status).toBe(401);
    expect(fake.requests.map((r) => r.auth)).toEqual(["x-api-key", "bearer", "x-api-key", "none"]);
  });

  it("rejects a body without the required fields with a 400 in the API's error shape", async () => {
    await using fake = await startFakeAnthropic();
    const res = await post(fake.url, { "x-api-key": fake.apiKey }, { model: MODEL, messages: [] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") } });
  });

  it("says so when a test forgot to queue a step, and plays a default responder when one is set", async () => {
    await using fake = await startFakeAnthropic();
    const missing = await post(fake.url, { "x-api-key": fake.apiKey });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(await missing.json())).toContain("no step queued");
    fake.respond((req) => fakeSteps.text(`echo ${req.index}`));
    fake.enqueue(fakeSteps.text("queued first"));
    const texts = [];
    for (let i = 0; i < 2; i++) {
      const res = await post(fake.url, { "x-api-key": fake.apiKey });
      texts.push(((await res.json()) as { content: Array<{ text: string }> }).content[0]!.text);
    }
    expect(texts).toEqual(["queued first", "echo 2"]);
    expect(fake.queued).toBe(0);
  });

  it("sends HTTP errors with their headers, and event: error inside a 200 stream", async () => {
    await using fake = await startFakeAnthropic();
    fake.enqueue(fakeSteps.httpError(429, { headers: { "retry-after": "3" } }), fakeSteps.streamError({ text: "Half" }));
    const limited = await post(fake.url, { "x-api-key": fake.apiKey });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    expect(await limited.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    const stream = await post(fake.url, { "x-api-key": fake.apiKey }, body({ stream: true }));
    expect(stream.status).toBe(200);
    const text = await stream.text();
    expect(text).toContain("event: message_start");
    expect(text).toContain('"text":"Half"');
    expect(text.trimEnd().split("\n\n").at(-1)).toBe('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
  });

  it("closes its keep-alive connections and timers on close", async () => {
    const fake = await startFakeAnthropic();
    fake.enqueue(fakeSteps.text("one"), fakeSteps.delay(60_000, fakeSteps.text("never")));
    const client = new Anthropic({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 });
    await client.messages.create(body() as Anthropic.MessageCreateParamsNonStreaming);
    const pending = client.messages.create(body() as Anthropic.MessageCreateParamsNonStreaming);
    pending.catch(() => {});
    await waitFor(() => fake.inFlight === 1, { message: "the delayed request to arrive" });
    await fake.close();
    await expect(pending).rejects.toThrow();
    expect(fake.inFlight).toBe(0);
    await expect(fetch(fake.url)).rejects.toThrow();
  });
});
