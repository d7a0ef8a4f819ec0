import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/harness/wait.ts";
import { ColonyError, TimeoutError, UnavailableError } from "../src/errors.ts";
import { AnthropicModel } from "../src/model/anthropic.ts";
import type { AnthropicModelOptions } from "../src/model/anthropic.ts";
import type { ModelEvent, ModelRequest } from "../src/model/provider.ts";
import type { FakeAnthropic } from "../src/testing/fake-anthropic.ts";
import { fakeSteps, startFakeAnthropic } from "../src/testing/fake-anthropic.ts";

// AnthropicModel against the fake: HTTP errors (the SDK retries), errors
// inside a 200 stream (we retry), timeouts, aborts, and what the caller gets.

const MODEL = "claude-haiku-4-5";
const request = (): ModelRequest => ({ model: MODEL, system: "", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], tools: [], maxTokens: 64 });

let fake: FakeAnthropic;
let statuses: string[];
beforeEach(async () => {
  fake = await startFakeAnthropic();
  statuses = [];
});
afterEach(async () => {
  await fake.close();
});

const modelFor = (over: Partial<AnthropicModelOptions> = {}) =>
  new AnthropicModel({
    apiKey: fake.apiKey,
    baseURL: fake.url,
    retryBaseMs: 1,
    metrics: { llmRequest: (_m, status) => statuses.push(status), llmTokens() {}, llmCost() {} },
    ...over,
  });

/** The rejection of `p`, which must reject. */
async function failureOf(p: Promise<unknown>): Promise<ColonyError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ColonyError);
  return e as ColonyError;
}

describe("HTTP errors: the SDK retries, the caller gets a ColonyError", () => {
  it("retries a 429 after the retry-after-ms it names, then succeeds", async () => {
    fake.enqueue(fakeSteps.httpError(429, { headers: { "retry-after-ms": "50", "retry-after": "30" } }), fakeSteps.text("after the wait"));
    const res = await modelFor().complete(request());
    expect(res.content).toEqual([{ type: "text", text: "after the wait" }]);
    expect(fake.requests).toHaveLength(2);
    const waited = fake.requests[1]!.receivedAt - fake.requests[0]!.receivedAt;
    expect(waited).toBeGreaterThanOrEqual(45); // timers may fire up to ~1 ms early
    expect(waited).toBeLessThan(5_000); // retry-after-ms wins over retry-after (30 s)
    expect(statuses).toEqual(["ok"]);
  });

  it("retries a 529 overload, then succeeds", async () => {
    fake.enqueue(fakeSteps.httpError(529, { headers: { "retry-after-ms": "5" } }), fakeSteps.text("recovered"));
    const res = await modelFor().complete(request());
    expect(res.content).toEqual([{ type: "text", text: "recovered" }]);
    expect(fake.requests).toHaveLength(2);
  });

  it("gives up after maxRetries: a 429 becomes rate_limited with retryAfterMs, a 529 unavailable", async () => {
    fake.enqueue(fakeSteps.httpError(429, { headers: { "retry-after": "2" }, message: "slow down" }));
    const limited = await failureOf(modelFor({ maxRetries: 0 }).complete(request()));
    expect(limited).toMatchObject({ code: "rate_limited", action: "retryable", retryAfterMs: 2000 });
    expect(limited.message).toContain("slow down");

    const fast = { headers: { "retry-after-ms": "1" } };
    fake.enqueue(fakeSteps.httpError(529, fast), fakeSteps.httpError(529, fast));
    const overloaded = await failureOf(modelFor({ maxRetries: 1 }).complete(request()));
    expect(overloaded).toBeInstanceOf(UnavailableError);
    expect(overloaded).toMatchObject({ code: "unavailable", action: "retryable" });
    expect(fake.requests).toHaveLength(3);
    expect(statuses).toEqual(["429", "529"]);
  });

  it("obeys x-should-retry: false", async () => {
    fake.enqueue(fakeSteps.httpError(503, { headers: { "x-should-retry": "false" } }));
    await expect(modelFor({ maxRetries: 3 }).complete(request())).rejects.toBeInstanceOf(UnavailableError);
    expect(fake.requests).toHaveLength(1);
  });

  it("a wrong key is a terminal unauthorized error, never retried", async () => {
    const model = new AnthropicModel({ apiKey: "sk-wrong", baseURL: fake.url, maxRetries: 3, metrics: { llmRequest: (_m, s) => statuses.push(s), llmTokens() {}, llmCost() {} } });
    const e = await failureOf(model.complete(request()));
    expect(e).toMatchObject({ code: "unauthorized", action: "terminal", details: { status: 401, type: "authentication_error" } });
    expect(fake.requests).toHaveLength(1);
    expect(statuses).toEqual(["401"]);
  });

  it("maps the other 4xx to terminal codes", async () => {
    fake.enqueue(
      fakeSteps.httpError(400, { message: "messages.0: bad" }),
      fakeSteps.httpError(403),
      fakeSteps.httpError(404, { message: "model: not found" }),
      fakeSteps.httpError(413),
    );
    const model = modelFor({ maxRetries: 3 });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(await failureOf(model.complete(request())));
    expect(codes.map((e) => [e.code, e.action])).toEqual([
      ["validation_failed", "terminal"],
      ["unauthorized", "terminal"],
      ["not_found", "terminal"],
      ["payload_too_large", "terminal"],
    ]);
    expect(codes[0]!.message).toContain("messages.0: bad");
    expect(fake.requests).toHaveLength(4);
  });

  it("cannot reach the API: unavailable with status connection", async () => {
    const gone = await startFakeAnthropic();
    await gone.close();
    const model = new AnthropicModel({ apiKey: "k", baseURL: gone.url, maxRetries: 0, metrics: { llmRequest: (_m, s) => statuses.push(s), llmTokens() {}, llmCost() {} } });
    await expect(model.complete(request())).rejects.toBeInstanceOf(UnavailableError);
    expect(statuses).toEqual(["connection"]);
  });
});

describe("errors inside a 200 stream: our own retry", () => {
  it("retries the whole request after event: error mid-stream; deltas of the failed attempt were already emitted", async () => {
    fake.enqueue(fakeSteps.streamError({ text: "Part" }), fakeSteps.text("Whole answer"));
    const events: ModelEvent[] = [];
    const res = await modelFor().complete(request(), { onEvent: (e) => events.push(e) });
    expect(res.content).toEqual([{ type: "text", text: "Whole answer" }]);
    expect(fake.requests).toHaveLength(2);
    expect(events).toEqual([
      { kind: "text_delta", text: "Part" },
      { kind: "text_delta", text: "Whole " },
      { kind: "text_delta", text: "answer" },
    ]);
    expect(statuses).toEqual(["ok"]);
  });

  it("retries a stream whose connection is cut", async () => {
    fake.enqueue(fakeSteps.disconnect("Cut"), fakeSteps.text("fine"));
    const res = await modelFor().complete(request());
    expect(res.content).toEqual([{ type: "text", text: "fine" }]);
    expect(fake.requests).toHaveLength(2);
  });

  it("retries a tool input that is not JSON at all (the SDK cannot parse it: a broken stream)", async () => {
    fake.enqueue(fakeSteps.reply([{ type: "tool_use", name: "weather", json: '{"city": Paris}' }]), fakeSteps.toolUse("weather", { city: "Paris" }));
    const res = await modelFor().complete(request());
    expect(res.content).toMatchObject([{ type: "tool_use", input: { city: "Paris" } }]);
    expect(fake.requests).toHaveLength(2);
  });

  it("persistent mid-stream errors: unavailable after 1 + midStreamRetries attempts", async () => {
    fake.respond(fakeSteps.streamError());
    const e = await failureOf(modelFor({ midStreamRetries: 3 }).complete(request()));
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toContain("overloaded_error");
    expect(fake.requests).toHaveLength(4);
    expect(statuses).toEqual(["stream_error"]);

    const once = await failureOf(modelFor({ midStreamRetries: 0 }).complete(request()));
    expect(once).toBeInstanceOf(UnavailableError);
    expect(fake.requests).toHaveLength(5);
  });

  it("uses the default of 2 mid-stream retries", async () => {
    fake.respond(fakeSteps.streamError({ errorType: "api_error" }));
    await expect(modelFor().complete(request())).rejects.toBeInstanceOf(UnavailableError);
    expect(fake.requests).toHaveLength(3);
  });

  it("does not retry an event: error that says the request is wrong", async () => {
    fake.respond(fakeSteps.streamError({ errorType: "invalid_request_error", message: "bad tool" }));
    const e = await failureOf(modelFor().complete(request()));
    expect(e).toMatchObject({ code: "validation_failed", action: "terminal" });
    expect(fake.requests).toHaveLength(1);
  });

  it("a message that does not parse is a bad_response, not retried", async () => {
    fake.respond(fakeSteps.text("x", { usage: { output_tokens: -3 } }));
    const e = await failureOf(modelFor().complete(request()));
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toContain("usage.output_tokens");
    expect(statuses).toEqual(["bad_response"]);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("timeouts and aborts", () => {
  it("times out a stream that stalls after its headers (the SDK's own timeout stops at the headers)", async () => {
    fake.respond(fakeSteps.stall("Thinking"));
    const e = await failureOf(modelFor({ timeoutMs: 50 }).complete(request()));
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toContain("timeoutMs");
    expect(statuses).toEqual(["timeout"]);
    expect(fake.requests).toHaveLength(1);
    await waitFor(() => fake.inFlight === 0, { message: "the stalled stream to be closed by the client" });
  });

  it("an abort mid-stream rethrows the signal's reason and closes the request", async () => {
    fake.respond(fakeSteps.stall("Thinking"));
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const call = modelFor().complete(request(), { signal: controller.signal });
    await waitFor(() => fake.inFlight === 1, { message: "the request to reach the fake" });
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await waitFor(() => fake.inFlight === 0, { message: "the aborted stream to be closed" });
    expect(statuses).toEqual(["aborted"]);
    expect(fake.requests).toHaveLength(1);
  });

  it("an abort during the mid-stream backoff stops the retries", async () => {
    fake.respond(fakeSteps.streamError());
    const controller = new AbortController();
    const call = modelFor({ retryBaseMs: 60_000 }).complete(request(), { signal: controller.signal });
    await waitFor(() => fake.requests.length === 1 && fake.inFlight === 0, { message: "the first attempt to fail" });
    controller.abort(new Error("stop"));
    await expect(call).rejects.toThrow("stop");
    expect(fake.requests).toHaveLength(1);
  });

  it("an already aborted signal never reaches the API", async () => {
    const controller = new AbortController();
    controller.abort(new Error("too late"));
    await expect(modelFor().complete(request(), { signal: controller.signal })).rejects.toThrow("too late");
    expect(fake.requests).toHaveLength(0);
  });
});
