import { afterEach, describe, expect, it } from "vitest";
import type { EmbeddedCluster } from "../src/index.ts";
import { call, conversation, eventually, startTestCluster } from "../src/testing/index.ts";

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

const workers = {
  researcher: { systemPrompt: "You research." },
  writer: { systemPrompt: "You write." },
};

async function supervisor(key: string, extra: Record<string, unknown> = {}) {
  cluster = await startTestCluster({ hosts: 3 });
  const host = cluster.hosts[0]!;
  const res = await call(host, "POST", "/v1/agents", { type: "assistant", key, config: { tools: ["delegate"], workers, ...extra } });
  expect(res.status).toBe(201);
  return host;
}

describe("delegation to worker agents", () => {
  it("fans a goal out to 6 workers in parallel across the hosts and aggregates their answers", async () => {
    const host = await supervisor("boss");
    const res = await call(host, "POST", "/v1/agents/assistant/boss/messages", { content: "fanout 6 researcher,writer map the coast" });
    expect(res.body.status).toBe("completed");
    for (let i = 1; i <= 6; i++) expect(res.body.reply).toContain(`map the coast (part ${i} of 6)`);
    expect(res.body.reply).toContain("[researcher]");
    expect(res.body.reply).toContain("[writer]");

    const boss = (await call(host, "GET", "/v1/agents/assistant/boss")).body;
    expect(boss.children).toHaveLength(6);
    const hosts = new Set<string>();
    for (const child of boss.children) {
      const w = (await call(host, "GET", `/v1/agents/${child}`)).body;
      expect(w).toMatchObject({ parent: "assistant/boss", turns: 1 });
      expect(w.config.systemPrompt).toMatch(/^You (research|write)\.$/);
      if (w.host) hosts.add(w.host);
    }
    expect(hosts.size).toBeGreaterThan(1);
    // The workers' spend counts against the supervisor.
    const workerTokens = await Promise.all(
      boss.children.map(async (c: string) => (await call(host, "GET", `/v1/agents/${c}`)).body.usage.inputTokens as number),
    );
    const responses = await eventually(async () => {
      const list = (await call(host, "GET", "/v1/agents/assistant/boss/trace")).body.entries.filter((e: { event: { kind: string } }) => e.event.kind === "model_response");
      expect(list).toHaveLength(2);
      return list;
    });
    const ownCalls = responses.reduce((n: number, e: { event: { usage: { inputTokens: number } } }) => n + e.event.usage.inputTokens, 0);
    expect(boss.usage.inputTokens).toBe(ownCalls + workerTokens.reduce((a, b) => a + b, 0));
  });

  it("records the delegation in the supervisor's trace, and one request's trace id covers the supervisor and all its workers", async () => {
    const host = await supervisor("traced");
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    await call(host, "POST", "/v1/agents/assistant/traced/messages", { content: "fanout 2 researcher,writer survey" }, { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    const boss = (await call(host, "GET", "/v1/agents/assistant/traced")).body;
    const entries = await eventually(async () => {
      const list = (await call(host, "GET", "/v1/agents/assistant/traced/trace")).body.entries;
      expect(list.at(-1)?.event.kind).toBe("turn_finished");
      return list;
    });
    const calls = entries.filter((e: { event: { kind: string } }) => e.event.kind === "tool_call");
    expect(calls.map((e: { event: { tool: string; input: { worker: string } } }) => [e.event.tool, e.event.input.worker])).toEqual([
      ["delegate", "researcher"],
      ["delegate", "writer"],
    ]);
    const results = entries.filter((e: { event: { kind: string } }) => e.event.kind === "tool_result");
    expect(results.every((e: { event: { outcome: string } }) => e.event.outcome === "ok")).toBe(true);
    expect(entries.every((e: { traceId: string }) => e.traceId === traceId)).toBe(true);
    for (const child of boss.children) {
      const workerTrace = await eventually(async () => {
        const list = (await call(host, "GET", `/v1/agents/${child}/trace`)).body.entries;
        expect(list.at(-1)?.event.kind).toBe("turn_finished");
        return list;
      });
      expect(workerTrace.every((e: { traceId: string }) => e.traceId === traceId)).toBe(true);
    }
  });

  it("tells the supervisor's model which worker timed out, and why", async () => {
    const host = await supervisor("patient");
    await call(host, "POST", "/v1/agents/assistant/patient/messages", { content: 'tool delegate {"worker":"researcher","task":"slow 3000 deep dive","timeoutMs":300}' });
    const result = (await conversation(host, "assistant/patient")).flatMap((m: { content: { type: string; content?: string; isError?: boolean }[] }) => m.content).find((b: { type: string }) => b.type === "tool_result");
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/worker researcher \(assistant\/researcher-[0-9a-f]{24}\) timed out after 300 ms/);
  });

  it("refuses unknown profiles and enforces the fan-out and depth limits with a clear error", async () => {
    const host = await supervisor("limited", { delegation: { maxChildren: 2, maxDepth: 1 } });
    const unknown = await call(host, "POST", "/v1/agents/assistant/limited/messages", { content: "delegate poet a sonnet" });
    expect(unknown.body.reply).toContain('unknown worker profile "poet"');
    const wide = await call(host, "POST", "/v1/agents/assistant/limited/messages", { content: "fanout 3 researcher wide task" });
    expect(wide.body.reply).toContain("fan-out limit");
    expect((await call(host, "GET", "/v1/agents/assistant/limited")).body.children).toHaveLength(2);
    // A worker (depth 1) that tries to delegate further hits the depth limit; its supervisor hears why.
    await call(host, "POST", "/v1/agents", {
      type: "assistant",
      key: "shallow",
      config: { tools: ["delegate"], workers: { researcher: { tools: ["delegate"] } }, delegation: { maxDepth: 1 } },
    });
    const deep = await call(host, "POST", "/v1/agents/assistant/shallow/messages", { content: "delegate researcher delegate researcher go deeper" });
    expect(deep.body.reply).toContain("depth limit");
  });

  it("bounds live workers, not a lifetime total: finished workers free their place and a deleted one leaves children", async () => {
    const host = await supervisor("steady", { delegation: { maxChildren: 2 } });
    for (let i = 0; i < 4; i++) {
      const res = await call(host, "POST", "/v1/agents/assistant/steady/messages", { content: `fanout 2 researcher,writer round ${i}` });
      expect(res.body.status).toBe("completed");
      expect(res.body.reply).not.toContain("fan-out limit");
    }
    const boss = (await call(host, "GET", "/v1/agents/assistant/steady")).body;
    expect(boss.children).toHaveLength(8);
    // Three at once exceed two live workers; the error counts what is live.
    const wide = await call(host, "POST", "/v1/agents/assistant/steady/messages", { content: "fanout 3 researcher too wide" });
    expect(wide.body.reply).toContain("at most 2 live workers (delegation.maxChildren); 2 are working now");
    const [gone] = boss.children as string[];
    expect((await call(host, "DELETE", `/v1/agents/${gone}`)).status).toBe(204);
    const after = (await call(host, "GET", "/v1/agents/assistant/steady")).body;
    expect(after.children).not.toContain(gone);
    expect(after.children.length).toBeGreaterThanOrEqual(9);
    // The supervisor's own state drops it at its next delegation.
    await call(host, "POST", "/v1/agents/assistant/steady/messages", { content: "delegate writer one more" });
    const stored = await host.store.readState("assistant/steady" as never);
    expect(stored?.children).not.toContain(gone);
  });

  it("deletes a supervisor's workers with it, recursively", async () => {
    const host = await supervisor("tree", { workers: { researcher: { tools: ["delegate"] }, writer: {} } });
    await call(host, "POST", "/v1/agents/assistant/tree/messages", { content: "delegate researcher delegate writer leaf task" });
    const boss = (await call(host, "GET", "/v1/agents/assistant/tree")).body;
    expect(boss.children).toHaveLength(1);
    const mid = (await call(host, "GET", `/v1/agents/${boss.children[0]}`)).body;
    expect(mid.children).toHaveLength(1);
    const leaf = mid.children[0];
    expect((await call(host, "GET", `/v1/agents/${leaf}`)).body.parent).toBe(mid.id);
    expect((await call(host, "DELETE", "/v1/agents/assistant/tree")).status).toBe(204);
    for (const id of ["assistant/tree", mid.id, leaf]) {
      await eventually(async () => expect((await call(host, "GET", `/v1/agents/${id}`)).status).toBe(404));
    }
  });

  it("re-running a delegate call re-attaches to the same worker instead of running the task again", async () => {
    const host = await supervisor("again");
    const first = await call(host, "POST", "/v1/agents/assistant/again/messages", { content: "delegate writer one poem" });
    expect(first.body.status).toBe("completed");
    const boss = (await call(host, "GET", "/v1/agents/assistant/again")).body;
    const child = boss.children[0] as string;
    const use = (await conversation(host, "assistant/again")).flatMap((m: { content: { type: string; id?: string }[] }) => m.content).find((b: { type: string }) => b.type === "tool_use");
    const firstMessageId = await eventually(async () => (await call(host, "GET", "/v1/agents/assistant/again/trace?turn=1")).body.entries[0].messageId as string);
    // The same call made again, as a turn resumed after a crash would: same agent, message and tool-use ids.
    const { delegateTool } = await import("../src/delegation/delegate-tool.ts");
    const tool = delegateTool({
      spawnChild: (req) => host.service.spawnChild(req),
      childActivity: (ids) => host.service.childActivity(ids),
      ask: async (id, req) => {
        const out = await host.service.send(id, { content: req.content, idempotencyKey: req.idempotencyKey, waitMs: req.waitMs });
        return out.kind === "completed" ? out.result : null;
      },
    });
    const { codec } = await import("@colony/actors");
    const state = await host.store.readState("assistant/again" as never);
    const again = await tool.run(
      { worker: "writer", task: "one poem" },
      {
        agentId: "assistant/again" as never,
        messageId: firstMessageId as never,
        toolUseId: use.id,
        idempotencyKey: `assistant/again:${firstMessageId}:${use.id}`,
        memory: { get: () => undefined, set: () => {} },
        signal: new AbortController().signal,
        agent: { ...codec.decodeState(codec.encodeState(state!).head, codec.encodeState(state!).log), children: [] },
      },
    );
    expect(again.isError).toBeFalsy();
    expect(again.effects?.children).toEqual([child]);
    expect((await call(host, "GET", `/v1/agents/${child}`)).body.turns).toBe(1);
    expect(first.body.reply).toContain(again.content);
  });
});
