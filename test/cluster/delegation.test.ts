import { describe, expect, it } from "vitest";
import type { FakeAnthropic, FakeRequest } from "@colony/actors/testing";
import { FAKE_ANTHROPIC_API_KEY, fakeSteps, startFakeAnthropic, systemText } from "@colony/actors/testing";
import { conversationOf, http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";

const MODEL = "claude-haiku-4-5";
const LEAD = "You are the lead.";
const WORKER = "You are a worker.";
const PARTS = 6;

type Block = { type: string; text?: string; content?: unknown };
const blocks = (c: unknown): Block[] => (typeof c === "string" ? [{ type: "text", text: c }] : (c as Block[]));
const firstText = (r: FakeRequest) => blocks(r.body.messages?.[0]?.content).find((b) => b.type === "text")?.text ?? "";
const isWorker = (r: FakeRequest) => systemText(r.body) === WORKER;

/**
 * The fake Messages API plays both parts: the lead splits the goal into
 * PARTS delegate calls, then sums up the results; a worker answers its part
 * after `workerDelayMs`.
 */
function script(fake: FakeAnthropic, workerDelayMs: number) {
  fake.respond((req) => {
    const msgs = req.body.messages ?? [];
    if (systemText(req.body) === LEAD) {
      const results = blocks(msgs[msgs.length - 1]?.content).filter((b) => b.type === "tool_result");
      if (results.length > 0) return fakeSteps.text(`Summary of ${results.length} parts: ${results.map((b) => JSON.stringify(b.content)).join(" | ")}`);
      return fakeSteps.reply(
        Array.from({ length: PARTS }, (_, i) => ({ type: "tool_use" as const, id: `toolu_part${i}`, name: "delegate", input: { worker: i % 2 ? "writer" : "researcher", task: `part ${i}` } })),
        { usage: { input_tokens: 100, output_tokens: 50 } },
      );
    }
    return fakeSteps.delay(workerDelayMs, fakeSteps.text(`done ${firstText(req)}`, { usage: { input_tokens: 1_000, output_tokens: 100 } }));
  });
}

const leadConfig = {
  model: MODEL,
  systemPrompt: LEAD,
  tools: ["delegate"],
  workers: { researcher: { systemPrompt: WORKER, model: MODEL }, writer: { systemPrompt: WORKER, model: MODEL } },
};

describe("delegation across real host processes, on the real SDK against a fake Messages API", { timeout: 90_000 }, () => {
  it("splits a goal into 6 parallel subtasks across 3 hosts, aggregates them, rolls their spend up and deletes them with the supervisor", async () => {
    await using fake = await startFakeAnthropic();
    script(fake, 50);
    await using c = await startProcessCluster({ hosts: 3, env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: fake.url } });
    expect((await http(c.url(), "POST", "/v1/agents", { type: "assistant", key: "lead", config: leadConfig })).status).toBe(201);
    const res = await http(c.url(), "POST", "/v1/agents/assistant/lead/messages", { content: "write the guide" });
    expect(res.body.status).toBe("completed");
    expect(res.body.reply).toMatch(/^Summary of 6 parts:/);
    for (let i = 0; i < PARTS; i++) expect(res.body.reply).toContain(`done part ${i}`);

    const lead = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body;
    expect(lead.children).toHaveLength(PARTS);
    const hosts = new Set<string>();
    for (const child of lead.children) {
      const w = (await http(c.url(), "GET", `/v1/agents/${child}`)).body;
      expect(w.parent).toBe("assistant/lead");
      if (w.host) hosts.add(w.host);
    }
    expect(hosts.size).toBeGreaterThan(1);
    // Each subtask ran once; the workers' 6 × 1,000 input tokens count against the lead.
    expect(fake.requests.filter(isWorker)).toHaveLength(PARTS);
    let responses: { event: { usage: { inputTokens: number } } }[] = [];
    await waitFor(async () => {
      responses = (await http(c.url(), "GET", "/v1/agents/assistant/lead/trace")).body.entries.filter((e: { event: { kind: string } }) => e.event.kind === "model_response");
      return responses.length === 2;
    });
    const own = responses.reduce((n, e) => n + e.event.usage.inputTokens, 0);
    expect(lead.usage.inputTokens).toBe(own + PARTS * 1_000);

    expect((await http(c.url(), "DELETE", "/v1/agents/assistant/lead")).status).toBe(204);
    for (const child of lead.children) expect((await http(c.url(), "GET", `/v1/agents/${child}`)).status).toBe(404);
  });

  it("the supervisor's host killed while its workers run: it resumes elsewhere, re-attaches, and no subtask runs twice", async () => {
    await using fake = await startFakeAnthropic();
    script(fake, 1_500);
    await using c = await startProcessCluster({ hosts: 3, env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: fake.url } });
    await http(c.url(), "POST", "/v1/agents", { type: "assistant", key: "lead", config: leadConfig });
    expect((await http(c.url(), "POST", "/v1/agents/assistant/lead/messages", { content: "write the guide", wait: false })).status).toBe(202);
    await waitFor(() => fake.requests.filter(isWorker).length === PARTS, { timeoutMs: 15_000, message: "every worker to be asking the model" });
    const leadHost = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body.host as string;
    // The tree shows while the workers run.
    const children = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body.children as string[];
    expect(children).toHaveLength(PARTS);
    const workerHost = new Map<string, string>();
    for (const child of children) workerHost.set(child, (await http(c.url(), "GET", `/v1/agents/${child}`)).body.host);
    await c.kill(leadHost);

    await waitFor(async () => (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body.turns === 1, {
      timeoutMs: 30_000,
      message: "the supervisor to finish its turn on another host",
    });
    const lead = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body;
    expect(lead.host).not.toBe(leadHost);
    expect((await conversationOf(c.url(), "assistant/lead")).at(-1).content[0].text).toMatch(/^Summary of 6 parts:/);
    // The lead's model was asked to split the goal once; each worker finished its part once.
    expect(fake.requests.filter((r) => systemText(r.body) === LEAD && (r.body.messages ?? []).length === 1)).toHaveLength(1);
    for (const child of children) {
      const w = (await http(c.url(), "GET", `/v1/agents/${child}`)).body;
      expect(w.turns).toBe(1);
      const firstTask = (await conversationOf(c.url(), child))[0].content[0].text;
      const asked = fake.requests.filter((r) => isWorker(r) && firstText(r) === firstTask).length;
      // A worker that lived elsewhere was asked exactly once; one that died with the lead's host may
      // have had its unfinished call made again, never a finished one.
      if (workerHost.get(child) !== leadHost) expect(asked).toBe(1);
      else expect(asked).toBeLessThanOrEqual(2);
    }
  });

  it("a worker's host killed mid-task: the worker resumes elsewhere and the supervisor still gets its result", async () => {
    await using fake = await startFakeAnthropic();
    script(fake, 1_500);
    await using c = await startProcessCluster({ hosts: 3, env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: fake.url } });
    await http(c.url(), "POST", "/v1/agents", { type: "assistant", key: "lead", config: leadConfig });
    expect((await http(c.url(), "POST", "/v1/agents/assistant/lead/messages", { content: "write the guide", wait: false })).status).toBe(202);
    await waitFor(() => fake.requests.filter(isWorker).length === PARTS, { timeoutMs: 15_000, message: "every worker to be asking the model" });
    const leadHost = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body.host as string;
    // The tree shows while the workers run.
    const children = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body.children as string[];
    expect(children).toHaveLength(PARTS);
    // Prefer a host that runs workers but not the lead; if placement put every worker with the lead, that host it is.
    const hostsOf = await Promise.all(children.map(async (child) => (await http(c.url(), "GET", `/v1/agents/${child}`)).body.host as string));
    const victim = hostsOf.find((h) => h && h !== leadHost) ?? hostsOf.find((h) => h)!;
    await c.kill(victim);
    await waitFor(async () => (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body.turns === 1, {
      timeoutMs: 30_000,
      message: "the supervisor to get every result",
    });
    const lead = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body;
    const summary = (await conversationOf(c.url(), "assistant/lead")).at(-1).content[0].text;
    for (let i = 0; i < PARTS; i++) expect(summary).toContain(`done part ${i}`);
  });
});
