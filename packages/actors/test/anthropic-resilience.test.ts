import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/harness/wait.ts";
import { UnavailableError } from "../src/errors.ts";
import { AnthropicModel } from "../src/model/anthropic.ts";
import type { AnthropicModelOptions } from "../src/model/anthropic.ts";
import { CircuitBreaker } from "../src/model/circuit-breaker.ts";
import { ModelCallLimiter } from "../src/model/limiter.ts";
import type { ModelRequest } from "../src/model/provider.ts";
import type { FakeAnthropic } from "../src/testing/fake-anthropic.ts";
import { fakeSteps, startFakeAnthropic } from "../src/testing/fake-anthropic.ts";
import { ManualClock } from "../src/testing/manual-clock.ts";

// The circuit breaker and the per-host limiter, around real SDK calls to the fake.

const MODEL = "claude-haiku-4-5";
const request = (text = "hi"): ModelRequest => ({ model: MODEL, system: "", messages: [{ role: "user", content: [{ type: "text", text }] }], tools: [], maxTokens: 64 });

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
    maxRetries: 0,
    retryBaseMs: 1,
    metrics: { llmRequest: (_m, status) => statuses.push(status), llmTokens() {}, llmCost() {} },
    ...over,
  });

describe("circuit breaker around the model", () => {
  it("opens after N failed calls, fails fast without a request, half-opens after openMs and closes on a good trial", async () => {
    const clock = new ManualClock();
    // midStreamRetries 0: a retry would pause on the manual clock.
    const model = modelFor({ clock, midStreamRetries: 0, circuitBreaker: { failureThreshold: 3, openMs: 30_000 } });
    fake.enqueue(fakeSteps.httpError(500), fakeSteps.httpError(529), fakeSteps.streamError());
    for (let i = 0; i < 3; i++) await expect(model.complete(request())).rejects.toBeInstanceOf(UnavailableError);
    expect(fake.requests).toHaveLength(3);
    expect(model.breaker.snapshot()).toMatchObject({ state: "open", consecutiveFailures: 3, trips: 1, retryAfterMs: 30_000 });

    clock.advance(10_000);
    const fast = model.complete(request());
    await expect(fast).rejects.toBeInstanceOf(UnavailableError);
    await expect(fast).rejects.toMatchObject({ code: "unavailable", action: "retryable", retryAfterMs: 20_000, message: expect.stringContaining("keeps failing") });
    expect(fake.requests).toHaveLength(3);

    clock.advance(20_000);
    expect(model.breaker.state).toBe("half_open");
    fake.enqueue(fakeSteps.text("back"));
    const res = await model.complete(request());
    expect(res.content).toEqual([{ type: "text", text: "back" }]);
    expect(model.breaker.snapshot()).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    expect(fake.requests).toHaveLength(4);
    expect(statuses).toEqual(["500", "529", "stream_error", "circuit_open", "ok"]);
  });

  it("lets exactly one trial through while half-open; a failed trial reopens the circuit", async () => {
    const clock = new ManualClock();
    const model = modelFor({ clock, circuitBreaker: { failureThreshold: 1, openMs: 1_000 } });
    fake.enqueue(fakeSteps.httpError(500));
    await expect(model.complete(request())).rejects.toBeInstanceOf(UnavailableError);
    clock.advance(1_000);

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    fake.enqueue(async () => {
      await gate;
      return fakeSteps.httpError(503);
    });
    const trial = model.complete(request("trial"));
    await waitFor(() => fake.inFlight === 1, { message: "the trial call to reach the fake" });
    await expect(model.complete(request("second"))).rejects.toMatchObject({ message: expect.stringContaining("half-open") });
    expect(fake.requests).toHaveLength(2);
    release();
    await expect(trial).rejects.toBeInstanceOf(UnavailableError);
    expect(model.breaker.snapshot()).toMatchObject({ state: "open", trips: 2, retryAfterMs: 1_000 });
    await expect(model.complete(request())).rejects.toMatchObject({ message: expect.stringContaining("circuit open") });
    expect(fake.requests).toHaveLength(2);
  });

  it("does not count a terminal 4xx (the API answered) or an abort as a failure", async () => {
    const model = modelFor({ circuitBreaker: { failureThreshold: 2 } });
    fake.enqueue(fakeSteps.httpError(500), fakeSteps.httpError(400), fakeSteps.httpError(500), fakeSteps.stall());
    await expect(model.complete(request())).rejects.toMatchObject({ code: "unavailable" });
    await expect(model.complete(request())).rejects.toMatchObject({ code: "validation_failed" });
    await expect(model.complete(request())).rejects.toMatchObject({ code: "unavailable" });
    expect(model.breaker.state).toBe("closed");
    const controller = new AbortController();
    const aborted = model.complete(request(), { signal: controller.signal });
    await waitFor(() => fake.inFlight === 1, { message: "the stalled call to start" });
    controller.abort(new Error("user left"));
    await expect(aborted).rejects.toThrow("user left");
    expect(model.breaker.snapshot()).toMatchObject({ state: "closed", consecutiveFailures: 1 });
  });

  it("can be shared: one provider's failures open it for another", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const a = modelFor({ circuitBreaker: breaker });
    const b = modelFor({ circuitBreaker: breaker });
    fake.enqueue(fakeSteps.httpError(500));
    await expect(a.complete(request())).rejects.toBeInstanceOf(UnavailableError);
    await expect(b.complete(request())).rejects.toMatchObject({ message: expect.stringContaining("keeps failing") });
    expect(fake.requests).toHaveLength(1);
  });
});

describe("per-host limiter around the model", () => {
  it("with maxConcurrent 2, five calls from two providers never have more than 2 requests at the fake", async () => {
    const limiter = new ModelCallLimiter({ maxConcurrent: 2 });
    const models = [modelFor({ limiter }), modelFor({ limiter })];
    const held: Array<() => void> = [];
    fake.respond(async (req) => {
      await new Promise<void>((resolve) => held.push(resolve));
      return fakeSteps.text(`answer ${req.index}`);
    });
    const calls = Array.from({ length: 5 }, (_, i) => models[i % 2]!.complete(request(`q${i}`)));

    let answered = 0;
    while (answered < 5) {
      const expected = Math.min(2, 5 - answered);
      await waitFor(() => held.length === expected, { message: `${expected} held requests at the fake` });
      // While these are held nothing else can start: the state below is stable.
      expect(fake.inFlight).toBe(expected);
      expect(fake.requests).toHaveLength(answered + expected);
      expect(limiter.active).toBe(expected);
      expect(limiter.waiting).toBe(5 - answered - expected);
      const batch = held.splice(0);
      batch.forEach((release) => release());
      answered += batch.length;
    }
    const replies = await Promise.all(calls);
    expect(replies).toHaveLength(5);
    expect(fake.maxInFlight).toBe(2);
    expect(limiter.active).toBe(0);
    // FIFO: requests reached the fake in the order the calls were made.
    expect(fake.requests.map((r) => (r.body.messages![0]!.content as Array<{ text: string }>)[0]!.text)).toEqual([0, 1, 2, 3, 4].map((i) => `q${i}`));
  });

  it("a call aborted while it waits for a slot leaves the queue and never reaches the API", async () => {
    const limiter = new ModelCallLimiter({ maxConcurrent: 1 });
    const model = modelFor({ limiter });
    let release!: () => void;
    fake.enqueue(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return fakeSteps.text("first");
    });
    const first = model.complete(request("first"));
    await waitFor(() => fake.inFlight === 1, { message: "the first call to hold the slot" });
    const controller = new AbortController();
    const queued = model.complete(request("queued"), { signal: controller.signal });
    await waitFor(() => limiter.waiting === 1, { message: "the second call to queue" });
    controller.abort(new Error("not needed"));
    await expect(queued).rejects.toThrow("not needed");
    expect(limiter.waiting).toBe(0);
    release();
    await expect(first).resolves.toMatchObject({ content: [{ type: "text", text: "first" }] });
    expect(fake.requests).toHaveLength(1);
    expect(statuses).toEqual(["aborted", "ok"]);
  });
});
