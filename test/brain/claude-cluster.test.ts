import { describe, expect, it } from "vitest";
import { FAKE_ANTHROPIC_API_KEY, fakeSteps, startFakeAnthropic } from "@colony/actors/testing";
import { conversationOf, http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";

type Block = { type: string; text?: string; content?: string };
type Msg = { role: string; content: Block[] };
const MODEL = "claude-haiku-4-5";

describe("agents on Claude (the real SDK against a fake Messages API), real host processes", { timeout: 120_000 }, () => {
  it("a host killed after a tool result and before the next model call: the turn resumes without repeating either", async () => {
    await using fake = await startFakeAnthropic();
    // prefer-local: the agent lives on the host its first message went through.
    await using c = await startProcessCluster({
      hosts: 2,
      env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: fake.url, COLONY_PLACEMENT: "prefer-local" },
    });
    const [victim, survivor] = [...c.hosts.keys()] as [string, string];
    await http(c.url(victim), "POST", "/v1/agents", { type: "assistant", key: "careful", config: { model: MODEL, tools: ["remember"] } });
    fake.enqueue(
      fakeSteps.toolUse("remember", { key: "order", value: "42 widgets" }, { id: "toolu_order" }),
      fakeSteps.stall(), // the second model call never answers: the host dies waiting for it
      fakeSteps.text("Noted: 42 widgets."),
    );
    expect((await http(c.url(victim), "POST", "/v1/agents/assistant/careful/messages", { content: "please remember the order", wait: false })).status).toBe(202);
    // The tool ran and its result is checkpointed before the second model call goes out.
    await waitFor(() => fake.requests.length === 2 && fake.inFlight === 1, { message: "the second model call to be in flight" });
    await c.kill(victim);

    await waitFor(async () => (await http(c.url(survivor), "GET", "/v1/agents/assistant/careful")).body.turns === 1, {
      timeoutMs: 15_000,
      message: "the turn to finish on the surviving host",
    });
    const state = (await http(c.url(survivor), "GET", "/v1/agents/assistant/careful")).body as { memory: Record<string, string>; host: string };
    const messages = (await conversationOf(c.url(survivor), "assistant/careful")) as Msg[];
    expect(state.host).toBe(survivor);
    expect(state.memory).toEqual({ order: "42 widgets" });
    // The completed model call (the one that asked for the tool) went out once; the tool ran once.
    const firstCalls = fake.requests.filter((r) => (r.body as { messages: Msg[] }).messages.length === 1);
    expect(firstCalls).toHaveLength(1);
    const toolResults = messages.flatMap((m) => m.content).filter((b) => b.type === "tool_result");
    expect(toolResults).toHaveLength(1);
    // Only the call that never completed was made again: 3 requests in all.
    expect(fake.requests).toHaveLength(3);
    expect(messages.at(-1)!.content[0]!.text).toBe("Noted: 42 widgets.");
  });

  it("reports LLM requests, tokens and cost in the host's metrics", async () => {
    await using fake = await startFakeAnthropic();
    await using c = await startProcessCluster({ hosts: 1, env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: fake.url } });
    fake.enqueue(fakeSteps.text("Hello from Claude.", { usage: { input_tokens: 1_000, output_tokens: 200, cache_read_input_tokens: 300, cache_creation_input_tokens: 50 } }));
    await http(c.url(), "POST", "/v1/agents", { type: "assistant", key: "metered", config: { model: MODEL } });
    const reply = await http(c.url(), "POST", "/v1/agents/assistant/metered/messages", { content: "hi" });
    expect(reply.body).toMatchObject({ status: "completed", reply: "Hello from Claude." });
    expect(reply.body.usage).toMatchObject({ inputTokens: 1_000, outputTokens: 200, cacheReadTokens: 300, cacheWriteTokens: 50 });
    expect(reply.body.usage.costUsd).toBeGreaterThan(0);
    const metrics = await (await fetch(`${c.url()}/metrics`)).text();
    expect(metrics).toContain(`colony_llm_requests_total{model="${MODEL}",status="ok"} 1`);
    expect(metrics).toContain(`colony_llm_tokens_total{model="${MODEL}",kind="input"} 1000`);
    expect(metrics).toContain(`colony_llm_tokens_total{model="${MODEL}",kind="output"} 200`);
    expect(metrics).toContain(`colony_llm_tokens_total{model="${MODEL}",kind="cache_read"} 300`);
    expect(metrics).toContain(`colony_llm_request_duration_seconds_count{model="${MODEL}"} 1`);
    const cost = Number(/colony_llm_cost_usd_total\{model="claude-haiku-4-5"\} ([\d.e-]+)/.exec(metrics)?.[1]);
    expect(cost).toBeCloseTo(reply.body.usage.costUsd, 9);
  });
});
