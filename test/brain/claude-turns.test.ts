import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { AnthropicModel, ToolRegistry, defineTool, recallTool, rememberTool } from "@colony/actors";
import { FAKE_ANTHROPIC_API_KEY, fakeSteps, startFakeAnthropic } from "@colony/actors/testing";
import type { FakeAnthropic } from "@colony/actors/testing";
import type { EmbeddedCluster } from "@colony/host";
import { call, startTestCluster } from "@colony/host/testing";

const MODEL = "claude-haiku-4-5";
let fake: FakeAnthropic;
let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
  await fake?.close();
});

type SentBlock = { type: string; tool_use_id?: string; is_error?: boolean; content?: unknown };
const lastUserBlocks = (i: number) => {
  const msgs = (fake.requests[i]!.body as { messages: { role: string; content: SentBlock[] | string }[] }).messages;
  const last = msgs[msgs.length - 1]!;
  return typeof last.content === "string" ? [] : last.content;
};

async function start(extraTools: Parameters<ToolRegistry["register"]>[0][] = [], breaker?: { failureThreshold: number; openMs: number }) {
  fake = await startFakeAnthropic();
  const model = new AnthropicModel({ apiKey: FAKE_ANTHROPIC_API_KEY, baseURL: fake.url, retryBaseMs: 1, maxRetries: 0, midStreamRetries: 0, ...(breaker ? { circuitBreaker: breaker } : {}) });
  cluster = await startTestCluster({ model, tools: new ToolRegistry([rememberTool, recallTool, ...extraTools]) });
  return cluster.hosts[0]!;
}

describe("turns on Claude through the real SDK", () => {
  it("runs the tool calls of one response in parallel and sends all results back", async () => {
    let running = 0;
    let overlap = 0;
    const slow = defineTool({
      name: "lookup",
      description: "looks something up slowly",
      input: z.object({ q: z.string() }),
      run: async ({ q }) => {
        running++;
        overlap = Math.max(overlap, running);
        await new Promise((r) => setTimeout(r, 50));
        running--;
        return { content: `found ${q}` };
      },
    });
    const host = await start([slow]);
    fake.enqueue(
      fakeSteps.reply([
        { type: "tool_use", id: "toolu_a", name: "lookup", input: { q: "alpha" } },
        { type: "tool_use", id: "toolu_b", name: "lookup", input: { q: "beta" } },
      ]),
      fakeSteps.text("alpha and beta found"),
    );
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "par", config: { model: MODEL, tools: ["lookup"] } });
    const res = await call(host, "POST", "/v1/agents/assistant/par/messages", { content: "find both" });
    expect(res.body).toMatchObject({ status: "completed", reply: "alpha and beta found" });
    expect(overlap).toBe(2);
    const results = lastUserBlocks(1).filter((b) => b.type === "tool_result");
    expect(results.map((b) => b.tool_use_id)).toEqual(["toolu_a", "toolu_b"]);
  });

  it("sends malformed tool arguments back to the model as an error result, without crashing the turn", async () => {
    const host = await start();
    fake.enqueue(fakeSteps.toolUse("remember", { key: 7 }, { id: "toolu_bad" }), fakeSteps.text("sorry, fixed"));
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "bad", config: { model: MODEL, tools: ["remember"] } });
    const res = await call(host, "POST", "/v1/agents/assistant/bad/messages", { content: "remember something" });
    expect(res.body).toMatchObject({ status: "completed", reply: "sorry, fixed" });
    const [result] = lastUserBlocks(1);
    expect(result).toMatchObject({ type: "tool_result", tool_use_id: "toolu_bad", is_error: true });
    expect(String(result!.content)).toContain("invalid arguments for remember");
    expect((await call(host, "GET", "/v1/agents/assistant/bad")).body.memory).toEqual({});
  });

  it("opens the circuit when the model API keeps failing: 503 at once, then recovers by itself", async () => {
    const host = await start([], { failureThreshold: 2, openMs: 300 });
    fake.enqueue(fakeSteps.httpError(500), fakeSteps.httpError(500));
    // One failed attempt dead-letters the message: this test is about the host-wide circuit, not per-message retries.
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "flaky", config: { model: MODEL, deadLetter: { afterFailures: 1 } } });
    for (let i = 0; i < 2; i++) {
      const res = await call(host, "POST", "/v1/agents/assistant/flaky/messages", { content: `try ${i}` });
      expect(res.body).toMatchObject({ status: "failed", error: { code: "model_failed" } });
    }
    const refused = await call(host, "POST", "/v1/agents/assistant/flaky/messages", { content: "now?" });
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toContain("model API");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(fake.requests).toHaveLength(2);
    // After openMs one trial goes through; it succeeds and the circuit closes.
    fake.enqueue(fakeSteps.text("back"), fakeSteps.text("and again"));
    const deadline = Date.now() + 5_000;
    let res = await call(host, "POST", "/v1/agents/assistant/flaky/messages", { content: "now?" });
    while (res.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      res = await call(host, "POST", "/v1/agents/assistant/flaky/messages", { content: "now?" });
    }
    expect(res.body).toMatchObject({ status: "completed", reply: "back" });
    expect((await call(host, "POST", "/v1/agents/assistant/flaky/messages", { content: "more" })).body.reply).toBe("and again");
  });
});
