import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ModelProvider, ModelRequest, ModelResponse } from "@colony/actors";
import { ScriptedModel, ToolRegistry, defineTool, recallTool, rememberTool } from "@colony/actors";
import { ManualClock } from "@colony/actors/testing";
import type { EmbeddedCluster } from "../src/index.ts";
import { call, conversation, eventually, startTestCluster } from "../src/testing/index.ts";

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});


/** A model that asks for the same tool call every time, like an agent stuck in a loop; counts its calls. */
class LoopingModel implements ModelProvider {
  readonly name = "looping";
  calls = 0;
  constructor(private readonly input: (n: number) => unknown = () => ({ target: "same" })) {}
  async complete(req: ModelRequest): Promise<ModelResponse> {
    this.calls++;
    const last = req.messages[req.messages.length - 1]!;
    // After a refusal of the loop the conversation can go on normally.
    if (last.content.some((b) => b.type === "text")) {
      const text = (last.content[0] as { text: string }).text;
      if (text.startsWith("plain")) return { content: [{ type: "text", text: "ok" }], stopReason: "end_turn", usage: usage(10, 2, 0), model: req.model };
    }
    return {
      content: [{ type: "tool_use", id: `toolu_${this.calls}`, name: "ping", input: this.input(this.calls) }],
      stopReason: "tool_use",
      usage: usage(40, 10, 0.01),
      model: req.model,
    };
  }
}

const usage = (i: number, o: number, cost: number) => ({ inputTokens: i, outputTokens: o, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: cost });

function pingTools(counter: { runs: number }) {
  return new ToolRegistry([
    rememberTool,
    recallTool,
    defineTool({
      name: "ping",
      description: "pings a target",
      input: z.object({ target: z.string() }),
      run: ({ target }) => {
        counter.runs++;
        return { content: `pong ${target}` };
      },
    }),
  ]);
}

describe("the stuttering check", () => {
  it("stops an agent calling the same tool with the same arguments a 4th time: suspended, escalated, 409 until resumed", async () => {
    const counter = { runs: 0 };
    const model = new LoopingModel();
    cluster = await startTestCluster({ model, tools: pingTools(counter) });
    const host = cluster.hosts[0]!;
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "loopy", config: { tools: ["ping"] } });
    const res = await call(host, "POST", "/v1/agents/assistant/loopy/messages", { content: "go" });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("failed");
    expect(res.body.error.code).toBe("loop_detected");
    expect(res.body.reply).toContain("ping 4 times with the same arguments");
    expect(model.calls).toBe(4);
    expect(counter.runs).toBe(3);

    const state = (await call(host, "GET", "/v1/agents/assistant/loopy")).body;
    expect(state.status).toBe("suspended");
    expect(state.suspension.code).toBe("loop_detected");
    expect(state.escalations).toHaveLength(1);
    const metrics = await (await host.app.request("/metrics")).text();
    expect(metrics).toContain('colony_circuit_breaker_trips_total{type="assistant"} 1');
    expect(metrics).toContain('colony_escalations_total{type="assistant"} 1');
    expect(metrics).toContain('colony_tool_calls_total{tool="ping",outcome="ok"} 3');

    const refused = await call(host, "POST", "/v1/agents/assistant/loopy/messages", { content: "plain hello" });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("wrong_state");
    expect(refused.body.error.message).toContain("suspended");
    expect(refused.body.error.message).toContain("colony agents resume assistant/loopy"); // the CLI command as well as the route
    expect(refused.body.error.message).toContain("POST /v1/agents/assistant/loopy/resume");
    expect(refused.body.error.details.reason).toContain("ping 4 times");

    const resumed = await call(host, "POST", "/v1/agents/assistant/loopy/resume");
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toBe("idle");
    expect(resumed.body.suspension).toBeNull();
    expect((await call(host, "POST", "/v1/agents/assistant/loopy/resume")).status).toBe(409);
    const after = await call(host, "POST", "/v1/agents/assistant/loopy/messages", { content: "plain hello" });
    expect(after.body).toMatchObject({ status: "completed", reply: "ok" });
  });

  it("lets different arguments through (only identical calls count)", async () => {
    const counter = { runs: 0 };
    const model = new LoopingModel((n) => ({ target: `t${n}` }));
    cluster = await startTestCluster({ model, tools: pingTools(counter) });
    const host = cluster.hosts[0]!;
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "busy", config: { tools: ["ping"], limits: { maxIterationsPerTurn: 6 } } });
    const res = await call(host, "POST", "/v1/agents/assistant/busy/messages", { content: "go" });
    expect(res.body.error.code).toBe("iteration_limit");
    expect(counter.runs).toBe(6);
    expect((await call(host, "GET", "/v1/agents/assistant/busy")).body.status).toBe("idle");
  });
});

describe("budgets", () => {
  it("ends a turn over limits.maxTokensPerTurn with the reason in the reply and state", async () => {
    const counter = { runs: 0 };
    cluster = await startTestCluster({ model: new LoopingModel((n) => ({ target: `t${n}` })), tools: pingTools(counter) });
    const host = cluster.hosts[0]!;
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "wordy", config: { tools: ["ping"], limits: { maxTokensPerTurn: 120 } } });
    const res = await call(host, "POST", "/v1/agents/assistant/wordy/messages", { content: "go" });
    expect(res.body.error.code).toBe("turn_token_limit");
    expect(res.body.reply).toContain("limits.maxTokensPerTurn");
    expect(res.body.usage.inputTokens + res.body.usage.outputTokens).toBe(150);
    const state = (await call(host, "GET", "/v1/agents/assistant/wordy")).body;
    expect(state.lastError.code).toBe("turn_token_limit");
    expect((await conversation(host, "assistant/wordy")).at(-1).content[0].text).toContain("limits.maxTokensPerTurn");
  });

  it("fails a turn whose one model call passed limits.maxTokensPerTurn, and caps max_tokens by what the limit has left", async () => {
    const asked: number[] = [];
    const model: ModelProvider = {
      name: "plain",
      async complete(req: ModelRequest): Promise<ModelResponse> {
        asked.push(req.maxTokens);
        return { content: [{ type: "text", text: "a long answer" }], stopReason: "end_turn", usage: usage(60, 10, 0), model: req.model };
      },
    };
    cluster = await startTestCluster({ model });
    const host = cluster.hosts[0]!;
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "tiny", config: { limits: { maxTokensPerTurn: 10 } } });
    const res = await call(host, "POST", "/v1/agents/assistant/tiny/messages", { content: "hello" });
    expect(res.body.status).toBe("failed");
    expect(res.body.error.code).toBe("turn_token_limit");
    expect(res.body.reply).toContain("it used 70 tokens, the limit per turn is 10");
    expect(asked).toEqual([10]);
    expect((await call(host, "GET", "/v1/agents/assistant/tiny")).body.lastError.code).toBe("turn_token_limit");
  });

  it("refuses model calls once the lifetime token budget is spent", async () => {
    const model = new ScriptedModel();
    let calls = 0;
    const counting: ModelProvider = { name: "counting", complete: (r, o) => (calls++, model.complete(r, o)) };
    cluster = await startTestCluster({ model: counting });
    const host = cluster.hosts[0]!;
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "thrifty", config: { limits: { tokenBudget: 30 } } });
    const first = await call(host, "POST", "/v1/agents/assistant/thrifty/messages", { content: "a message long enough to spend the whole budget at once" });
    expect(first.body.status).toBe("completed");
    const second = await call(host, "POST", "/v1/agents/assistant/thrifty/messages", { content: "and another" });
    expect(second.body.status).toBe("failed");
    expect(second.body.error.code).toBe("token_budget_exhausted");
    expect(second.body.reply).toContain("limits.tokenBudget");
    expect(calls).toBe(1);
  });

  it("refuses model calls once the cost budget is spent", async () => {
    const counter = { runs: 0 };
    const model = new LoopingModel((n) => ({ target: `t${n}` }));
    cluster = await startTestCluster({ model, tools: pingTools(counter) });
    const host = cluster.hosts[0]!;
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "spender", config: { tools: ["ping"], limits: { costBudgetUsd: 0.025 } } });
    const res = await call(host, "POST", "/v1/agents/assistant/spender/messages", { content: "go" });
    expect(res.body.error.code).toBe("cost_budget_exhausted");
    expect(model.calls).toBe(3);
    expect((await call(host, "GET", "/v1/agents/assistant/spender")).body.usage.costUsd).toBeCloseTo(0.03);
  });
});

describe("approval gates", () => {
  const spawnGated = (host: Parameters<typeof call>[0], key: string, extra: Record<string, unknown> = {}) =>
    call(host, "POST", "/v1/agents", { type: "assistant", key, config: { tools: ["remember", "recall"], permissions: { remember: "approval" }, ...extra } });

  it("pauses the turn until a person approves; any host lists and decides it", async () => {
    cluster = await startTestCluster({ hosts: 2 });
    const [a, b] = cluster.hosts as [NonNullable<(typeof cluster.hosts)[0]>, NonNullable<(typeof cluster.hosts)[0]>];
    await spawnGated(a, "gated");
    const sent = await call(a, "POST", "/v1/agents/assistant/gated/messages", { content: "remember door = open", wait: false });
    expect(sent.status).toBe(202);
    const listed = await eventually(async () => {
      const res = await call(b, "GET", "/v1/approvals");
      expect(res.body.approvals).toHaveLength(1);
      return res.body.approvals[0];
    });
    expect(listed).toMatchObject({ agent: "assistant/gated", tool: "remember", input: { key: "door", value: "open" } });
    const state = (await call(b, "GET", "/v1/agents/assistant/gated")).body;
    expect(state.status).toBe("awaiting_approval");
    expect(state.memory).toEqual({});

    expect((await call(b, "POST", `/v1/agents/assistant/gated/approvals/${listed.callId}`, { approve: true, reason: "fine" })).status).toBe(200);
    await eventually(async () => expect((await call(a, "GET", "/v1/agents/assistant/gated")).body).toMatchObject({ status: "idle", turns: 1, memory: { door: "open" } }));
    expect((await call(a, "GET", "/v1/approvals")).body.approvals).toEqual([]);
    expect((await call(a, "POST", `/v1/agents/assistant/gated/approvals/${listed.callId}`, { approve: true })).status).toBe(404);
  });

  it("a plain send answers as soon as the turn pauses for approval, from any host, with the waiting call ids", async () => {
    cluster = await startTestCluster({ hosts: 2, config: { waitTimeoutMs: 60_000 } });
    const [a, b] = cluster.hosts as [NonNullable<(typeof cluster.hosts)[0]>, NonNullable<(typeof cluster.hosts)[0]>];
    await spawnGated(a, "prompt");
    const send = { content: "remember door = open", idempotencyKey: "door" };
    const started = Date.now();
    const first = await call(a, "POST", "/v1/agents/assistant/prompt/messages", send);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: "awaiting_approval", awaiting: [expect.any(String)] });
    expect(Date.now() - started).toBeLessThan(30_000);
    const listed = (await call(b, "GET", "/v1/approvals")).body.approvals;
    expect(listed.map((x: { callId: string }) => x.callId)).toEqual(first.body.awaiting);
    // Asked again (one of the two hosts forwards to the other): the same answer, at once.
    for (const h of [a, b]) {
      const again = await call(h, "POST", "/v1/agents/assistant/prompt/messages", send);
      expect(again.body).toMatchObject({ messageId: first.body.messageId, status: "awaiting_approval", awaiting: first.body.awaiting, duplicate: true });
    }
    expect((await call(b, "POST", `/v1/agents/assistant/prompt/approvals/${first.body.awaiting[0]}`, { approve: true })).status).toBe(200);
    const done = await call(b, "POST", "/v1/agents/assistant/prompt/messages", send);
    expect(done.body).toMatchObject({ status: "completed", duplicate: true });
  });

  it("a denial goes back to the model as a tool error", async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    await spawnGated(host, "denied");
    const send = { content: "remember safe = 1234", idempotencyKey: "safe" };
    const paused = (await call(host, "POST", "/v1/agents/assistant/denied/messages", send)).body;
    expect(paused.status).toBe("awaiting_approval");
    expect((await call(host, "POST", `/v1/agents/assistant/denied/approvals/${paused.awaiting[0]}`, { approve: false, reason: "not that" })).status).toBe(200);
    // The same idempotency key waits for the original's outcome.
    const reply = (await call(host, "POST", "/v1/agents/assistant/denied/messages", send)).body;
    expect(reply.status).toBe("completed");
    expect(reply.reply).toContain("denied");
    expect(reply.reply).toContain("not that");
    expect((await call(host, "GET", "/v1/agents/assistant/denied")).body.memory).toEqual({});
  });

  it("denies a call nobody decided before its deadline", async () => {
    const clock = new ManualClock();
    cluster = await startTestCluster({ clock });
    const host = cluster.hosts[0]!;
    await spawnGated(host, "late", { approvalTimeoutMs: 60_000 });
    await call(host, "POST", "/v1/agents/assistant/late/messages", { content: "remember k = v", wait: false });
    await eventually(async () => expect((await call(host, "GET", "/v1/approvals")).body.approvals).toHaveLength(1));
    clock.advance(59_000);
    expect((await call(host, "GET", "/v1/agents/assistant/late")).body.status).toBe("awaiting_approval");
    clock.advance(2_000);
    await eventually(async () => expect((await call(host, "GET", "/v1/agents/assistant/late")).body.status).toBe("idle"));
    const state = (await call(host, "GET", "/v1/agents/assistant/late")).body;
    expect(state.memory).toEqual({});
    expect(JSON.stringify(await conversation(host, "assistant/late"))).toContain("no decision before the approval deadline");
  });

  it("validates decisions", async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    await spawnGated(host, "v");
    expect((await call(host, "POST", "/v1/agents/assistant/v/approvals/toolu_x", { approve: "yes" })).status).toBe(400);
    expect((await call(host, "POST", "/v1/agents/assistant/v/approvals/bad.id", { approve: true })).status).toBe(400);
    expect((await call(host, "POST", "/v1/agents/assistant/v/approvals/toolu_x", { approve: true })).status).toBe(404);
  });
});

describe("context compaction", () => {
  it("summarizes older turns past the threshold, keeps recent turns verbatim and memory whole", async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    await call(host, "POST", "/v1/agents", {
      type: "assistant",
      key: "long",
      config: { tools: ["remember", "recall"], compaction: { atTokens: 150, keepTurns: 2 } },
    });
    const path = "/v1/agents/assistant/long";
    await call(host, "POST", `${path}/messages`, { content: "remember pin = 4242" });
    for (let i = 0; i < 8; i++) await call(host, "POST", `${path}/messages`, { content: `chatter number ${i} to grow the context` });
    const state = (await call(host, "GET", path)).body;
    const messages = await conversation(host, "assistant/long");
    const first = messages[0].content[0].text as string;
    expect(first).toMatch(/^\[Summary of the earlier conversation\]/);
    expect(first).toContain("remember pin = 4242");
    // The last turns are still there word for word.
    expect(JSON.stringify(messages)).toContain("chatter number 7 to grow the context");
    expect(messages.length).toBeLessThan(12);
    expect(state.messageCount).toBe(messages.length);
    expect(state.memory).toEqual({ pin: "4242" });
    expect((await call(host, "POST", `${path}/messages`, { content: "what is pin?" })).body.reply).toBe("pin is 4242.");
  });
});
