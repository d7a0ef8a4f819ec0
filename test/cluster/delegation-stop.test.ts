import { describe, expect, it } from "vitest";
import type { FakeAnthropic, FakeRequest } from "@colony/actors/testing";
import { FAKE_ANTHROPIC_API_KEY, fakeSteps, startFakeAnthropic, systemText } from "@colony/actors/testing";
import { conversationOf, http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";

const MODEL = "claude-haiku-4-5";
const LEAD = "You are the lead.";
const WORKER = "You are a worker.";
const PARTS = 4;
const DRAIN_MS = 1_000;

type Block = { type: string; text?: string };
const blocks = (c: unknown): Block[] => (typeof c === "string" ? [{ type: "text", text: c }] : (c as Block[]));
const firstText = (r: FakeRequest) => blocks(r.body.messages?.[0]?.content).find((b) => b.type === "text")?.text ?? "";
const isWorker = (r: FakeRequest) => systemText(r.body) === WORKER;

/** The lead delegates PARTS subtasks in one response, then sums up; a worker answers after `workerDelayMs`. */
function script(fake: FakeAnthropic, workerDelayMs: number) {
  fake.respond((req) => {
    const msgs = req.body.messages ?? [];
    if (systemText(req.body) === LEAD) {
      const results = blocks(msgs[msgs.length - 1]?.content).filter((b) => b.type === "tool_result");
      if (results.length > 0) return fakeSteps.text(`Summary of ${results.length} parts`);
      return fakeSteps.reply(Array.from({ length: PARTS }, (_, i) => ({ type: "tool_use" as const, id: `toolu_part${i}`, name: "delegate", input: { worker: "researcher", task: `part ${i}` } })));
    }
    return fakeSteps.delay(workerDelayMs, fakeSteps.text(`done ${firstText(req)}`));
  });
}

const leadConfig = { model: MODEL, systemPrompt: LEAD, tools: ["delegate"], workers: { researcher: { systemPrompt: WORKER, model: MODEL } } };

describe("a supervisor stopped in the middle of a delegation, on real host processes", { timeout: 150_000 }, () => {
  it("DELETE of the supervisor reaches every worker spawned in the running turn (not yet in its snapshot)", async () => {
    await using fake = await startFakeAnthropic();
    script(fake, 60_000);
    await using c = await startProcessCluster({ hosts: 3, env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: fake.url } });
    const [front] = [...c.hosts.keys()] as [string];
    expect((await http(c.url(front), "POST", "/v1/agents", { type: "assistant", key: "lead", config: leadConfig })).status).toBe(201);
    expect((await http(c.url(front), "POST", "/v1/agents/assistant/lead/messages", { content: "split it", wait: false })).status).toBe(202);
    await waitFor(() => fake.requests.filter(isWorker).length === PARTS, { timeoutMs: 30_000, message: "every worker to be asking the model" });
    const lead = (await http(c.url(front), "GET", "/v1/agents/assistant/lead")).body;
    const children = lead.children as string[];
    expect(children).toHaveLength(PARTS);

    // Through a host that neither runs the supervisor nor ever routed to it: no cached route to read its live view by.
    const cold = [...c.hosts.keys()].find((h) => h !== front && h !== lead.host)!;
    expect((await http(c.url(cold), "DELETE", "/v1/agents/assistant/lead")).status).toBe(204);
    for (const child of children) expect((await http(c.url(), "GET", `/v1/agents/${child}`)).status, child).toBe(404);
    expect((await http(c.url(), "GET", "/v1/agents")).body.agents).toEqual([]);
  });

  it("SIGTERM of the supervisor's host ends its drain within COLONY_DRAIN_MS, not the delegation timeout; the turn resumes elsewhere and re-attaches", async () => {
    await using fake = await startFakeAnthropic();
    script(fake, 15_000);
    await using c = await startProcessCluster({ hosts: 2, env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: fake.url, COLONY_DRAIN_MS: String(DRAIN_MS) } });
    expect((await http(c.url(), "POST", "/v1/agents", { type: "assistant", key: "lead", config: leadConfig })).status).toBe(201);
    expect((await http(c.url(), "POST", "/v1/agents/assistant/lead/messages", { content: "split it", wait: false })).status).toBe(202);
    await waitFor(() => fake.requests.filter(isWorker).length === PARTS, { timeoutMs: 30_000, message: "every worker to be asking the model" });
    const leadHost = (await http(c.url(), "GET", "/v1/agents/assistant/lead")).body.host as string;
    const host = c.hosts.get(leadHost)!;

    const t0 = performance.now();
    host.signal("SIGTERM");
    expect(await host.exited).toBe(0);
    const stoppedMs = performance.now() - t0;
    // The drain deadline plus room for a loaded machine; far below the 15 s the workers still need.
    expect(stoppedMs).toBeLessThan(DRAIN_MS + 7_000);

    const survivor = c.liveHostIds()[0]!;
    await waitFor(async () => (await http(c.url(survivor), "GET", "/v1/agents/assistant/lead")).body.turns === 1, {
      timeoutMs: 60_000,
      message: "the supervisor to finish its turn on the other host",
    });
    expect((await conversationOf(c.url(survivor), "assistant/lead")).at(-1).content[0].text).toBe(`Summary of ${PARTS} parts`);
    // The lead split the goal once; its delegations re-attached to the same workers (no new ones).
    expect(fake.requests.filter((r) => systemText(r.body) === LEAD && (r.body.messages ?? []).length === 1)).toHaveLength(1);
    const children = (await http(c.url(survivor), "GET", "/v1/agents/assistant/lead")).body.children as string[];
    expect(children).toHaveLength(PARTS);
    console.log(`SIGTERM to exit with a delegation in flight: ${Math.round(stoppedMs)} ms (COLONY_DRAIN_MS ${DRAIN_MS})`);
  });
});
