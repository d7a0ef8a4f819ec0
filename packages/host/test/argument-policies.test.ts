import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ToolRegistry, defineTool } from "@colony/actors";
import { ManualClock } from "@colony/actors/testing";
import type { HostNode } from "../src/index.ts";
import { call, eventually, startTestHost } from "../src/testing/index.ts";

let host: (HostNode & AsyncDisposable) | undefined;
afterEach(async () => {
  await host?.shutdown();
  host = undefined;
});

const policies = {
  pay: [
    { name: "large payment", when: { path: "amount", op: "gt", value: 100 }, tier: "approval" },
    { name: "small payment", when: { path: "amount", op: "lte", value: 100 }, tier: "auto" },
  ],
  fetch_url: [{ name: "outside allow-list", when: { path: "url", op: "hostNotIn", value: ["api.example.com"] }, tier: "deny" }],
};

/** `pay` and `fetch_url` that record every call they actually run. */
function testTools(ran: string[]): ToolRegistry {
  return new ToolRegistry([
    defineTool({
      name: "pay",
      description: "pays an amount",
      input: z.object({ amount: z.number() }),
      // The tool's own tier is approval: the "small payment" rule is what lets it run at once.
      permission: "approval",
      run: ({ amount }) => (ran.push(`pay ${amount}`), { content: `paid ${amount}` }),
    }),
    defineTool({
      name: "fetch_url",
      description: "fetches a URL",
      input: z.object({ url: z.string() }),
      run: ({ url }) => (ran.push(`fetch ${url}`), { content: `fetched ${url}` }),
    }),
  ]);
}

type TraceEntry = { event: { kind: string; callId?: string; tool?: string; outcome?: string; policy?: unknown } };

async function trace(h: HostNode, key: string): Promise<TraceEntry[]> {
  return (await call(h, "GET", `/v1/agents/assistant/${key}/trace`)).body.entries;
}

describe("argument-level policies", () => {
  it("approval above a threshold, deny outside an allow-list, auto otherwise; the deciding rule is in the trace", async () => {
    const ran: string[] = [];
    host = await startTestHost({ tools: testTools(ran), config: { waitTimeoutMs: 60_000 } });
    const h = host;
    expect((await call(h, "POST", "/v1/agents", { type: "assistant", key: "payer", config: { tools: ["pay", "fetch_url"], policies } })).status).toBe(201);
    const send = (content: string) => call(h, "POST", "/v1/agents/assistant/payer/messages", { content });

    // amount 50: the "small payment" rule says auto, overriding the tool's own approval tier.
    const small = await send('tool pay {"amount": 50}');
    expect(small.body).toMatchObject({ status: "completed" });
    expect(ran).toEqual(["pay 50"]);

    // amount 500: the turn pauses like any approval-tier call.
    const large = await send('tool pay {"amount": 500}');
    expect(large.body).toMatchObject({ status: "awaiting_approval", awaiting: [expect.any(String)] });
    const callId = large.body.awaiting[0] as string;
    expect(ran).toEqual(["pay 50"]);
    const listed = (await call(h, "GET", "/v1/approvals")).body.approvals;
    expect(listed).toEqual([expect.objectContaining({ callId, tool: "pay", policy: { tier: "approval", rule: 0, name: "large payment" } })]);
    expect((await call(h, "POST", `/v1/agents/assistant/payer/approvals/${callId}`, { approve: true })).status).toBe(200);
    await eventually(() => expect(ran).toEqual(["pay 50", "pay 500"]), 30_000);
    await eventually(async () => expect((await call(h, "GET", "/v1/agents/assistant/payer")).body.status).toBe("idle"), 30_000);

    // A URL on the allowed host runs; no rule matches, so the tool's own tier (auto) applies.
    const inside = await send('tool fetch_url {"url": "https://api.example.com/v1/rates"}');
    expect(inside.body).toMatchObject({ status: "completed" });
    expect(ran).toHaveLength(3);

    // Outside: a denied error result for the model, the tool never runs.
    const outside = await send('tool fetch_url {"url": "https://evil.test/steal"}');
    expect(outside.body.status).toBe("completed");
    expect(outside.body.reply).toContain('tool call denied: argument policy rule 0 ("outside allow-list") of fetch_url chose deny');
    expect(ran).toHaveLength(3);

    const events = (await trace(h, "payer")).map((e) => e.event);
    const policyOf = (kind: string, tool: string) => events.filter((e) => e.kind === kind && e.tool === tool).map((e) => e.policy);
    expect(policyOf("tool_call", "pay")).toEqual([
      { tier: "auto", rule: 1, name: "small payment" },
      { tier: "approval", rule: 0, name: "large payment" },
    ]);
    expect(policyOf("approval_requested", "pay")).toEqual([{ tier: "approval", rule: 0, name: "large payment" }]);
    expect(policyOf("tool_call", "fetch_url")).toEqual([{ tier: "auto", rule: null }]);
    const denied = events.filter((e) => e.kind === "tool_result" && e.tool === "fetch_url" && e.outcome === "denied");
    expect(denied.map((e) => e.policy)).toEqual([{ tier: "deny", rule: 0, name: "outside allow-list" }]);

    const metrics = await (await h.app.request("/metrics")).text();
    expect(metrics).toContain('colony_tool_calls_total{tool="pay",outcome="ok"} 2');
    expect(metrics).toContain('colony_tool_calls_total{tool="fetch_url",outcome="ok"} 1');
    expect(metrics).toContain('colony_tool_calls_total{tool="fetch_url",outcome="denied"} 1');
    // The rule's free text never becomes a label.
    expect(metrics).not.toContain("allow-list");
  });

  it("a type's policies apply to its agents, and a spawn's rules for a tool replace the type's", async () => {
    const ran: string[] = [];
    host = await startTestHost({ tools: testTools(ran) });
    const h = host;
    expect((await call(h, "PUT", "/v1/types/payer", { config: { tools: ["pay"], policies: { pay: policies.pay } } })).status).toBe(200);
    await call(h, "POST", "/v1/agents", { type: "payer", key: "typed" });
    expect((await call(h, "POST", "/v1/agents/payer/typed/messages", { content: 'tool pay {"amount": 500}' })).body.status).toBe("awaiting_approval");
    await call(h, "POST", "/v1/agents", { type: "payer", key: "strict", config: { policies: { pay: [{ when: { path: "amount", op: "gt", value: 10 }, tier: "deny" }] } } });
    const reply = (await call(h, "POST", "/v1/agents/payer/strict/messages", { content: 'tool pay {"amount": 50}' })).body;
    expect(reply.status).toBe("completed");
    expect(reply.reply).toContain("argument policy rule 0 of pay chose deny");
    expect(ran).toEqual([]);
  });

  it("survive passivation: the restored agent decides by the same rules", async () => {
    const ran: string[] = [];
    const clock = new ManualClock();
    host = await startTestHost({ clock, tools: testTools(ran), config: { idleMs: 10_000 } });
    const h = host;
    await call(h, "POST", "/v1/agents", { type: "assistant", key: "sleepy", config: { tools: ["pay"], policies } });
    expect((await call(h, "GET", "/v1/agents/assistant/sleepy")).body.config.policies).toEqual(policies);
    clock.advance(11_000);
    await eventually(() => expect(h.catalog.activeCount()).toBe(0));
    expect((await call(h, "POST", "/v1/agents/assistant/sleepy/messages", { content: 'tool pay {"amount": 50}' })).body.status).toBe("completed");
    expect(ran).toEqual(["pay 50"]);
    expect((await call(h, "GET", "/v1/agents/assistant/sleepy")).body.config.policies).toEqual(policies);
  });

  it.each([
    ["an unknown op", { pay: [{ when: { path: "amount", op: "above", value: 100 }, tier: "approval" }] }, "config.policies.pay.0.when.op"],
    ["a value of the wrong type", { pay: [{ when: { path: "amount", op: "gt", value: "100" }, tier: "approval" }] }, "config.policies.pay.0.when.value"],
    ["a regex that does not compile", { pay: [{ when: { path: "note", op: "matches", value: "[" }, tier: "deny" }] }, "config.policies.pay.0.when.value"],
    ["an unknown tier", { pay: [{ when: { path: "amount", op: "exists" }, tier: "ask" }] }, "config.policies.pay.0.tier"],
    ["rules for a tool no host offers (a typo)", { payy: [{ when: { path: "amount", op: "exists" }, tier: "deny" }] }, "config.policies.payy"],
  ])("rejects %s with a 400 naming the field, at spawn and at PUT /v1/types, storing nothing", async (_what, bad, field) => {
    host = await startTestHost({ tools: testTools([]) });
    const spawned = await call(host, "POST", "/v1/agents", { type: "assistant", key: "bad", config: { tools: ["pay"], policies: bad } });
    expect(spawned.status).toBe(400);
    expect(spawned.body.error.details.field).toBe(field);
    expect((await call(host, "GET", "/v1/agents/assistant/bad")).status).toBe(404);
    const put = await call(host, "PUT", "/v1/types/payer", { config: { tools: ["pay"], policies: bad } });
    expect(put.status).toBe(400);
    expect(put.body.error.details.field).toBe(field);
    expect((await call(host, "GET", "/v1/types/payer")).status).toBe(404);
  });
});

describe("argument-level policies and delegation", () => {
  it("hold a worker to its supervisor's rules: delegating a large payment still waits for a person", async () => {
    const ran: string[] = [];
    host = await startTestHost({ tools: testTools(ran), config: { waitTimeoutMs: 60_000 } });
    const h = host;
    const config = { tools: ["delegate"], workers: { payer: { tools: ["pay"] } }, policies };
    expect((await call(h, "POST", "/v1/agents", { type: "assistant", key: "boss", config })).status).toBe(201);
    const sent = await call(h, "POST", "/v1/agents/assistant/boss/messages", { content: 'delegate payer tool pay {"amount": 500}', wait: false });
    expect(sent.status).toBe(202);
    const waiting = await eventually(async () => {
      const approvals = (await call(h, "GET", "/v1/approvals")).body.approvals as { agent: string; tool: string; policy?: { name?: string } }[];
      expect(approvals).toHaveLength(1);
      return approvals[0]!;
    }, 30_000);
    expect(waiting).toMatchObject({ tool: "pay", policy: { name: "large payment" } });
    expect(waiting.agent).toMatch(/^assistant\/payer-/);
    expect(ran).toEqual([]);
  });
});
