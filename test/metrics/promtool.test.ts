import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeAnthropic } from "@colony/actors/testing";
import { fakeSteps, startFakeAnthropic } from "@colony/actors/testing";
import type { ColonyProcess } from "../harness/colony-process.ts";
import { http, startColony } from "../harness/colony-process.ts";
import { waitFor } from "../harness/wait.ts";

/**
 * Prometheus' own linter on a busy host's /metrics. The host is a real
 * `colony dev` process (so prom-client's default process metrics are on, as in
 * production), driven over HTTP until every kind of Colony metric has
 * samples: activations, messages, turns, model calls and tokens, tool calls
 * with several outcomes, snapshot writes, directory lookups. The model is a
 * fake Messages API (ANTHROPIC_BASE_URL), so that the colony_llm_* metrics of
 * the real Anthropic provider have samples too.
 *
 * The one documented exception: prom-client's default gauges
 * `nodejs_active_handles_total`, `nodejs_active_requests_total` and
 * `nodejs_active_resources_total` are gauges named like counters, and promtool
 * says so ("non-counter metrics should not have "_total" suffix"). They are
 * prom-client's names, not ours (prom-client 15 names those gauges so); any other finding fails.
 */

const PROMTOOL = "/usr/bin/promtool";
const EXCEPTED = new Set(["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]);

function promtoolCheck(exposition: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
    child.stdin.end(exposition);
  });
}

let host: ColonyProcess;
let fake: FakeAnthropic;
let exposition: string;

/** A tiny model: `remember k = v` and `recall k` call the tools, `bad tool` calls remember with bad input, a tool result ends the turn. */
function model(req: { body: { messages?: Array<{ role: string; content: unknown }> } }) {
  const last = req.body.messages?.at(-1)?.content;
  if (Array.isArray(last) && last.some((b: { type?: string }) => b.type === "tool_result")) return fakeSteps.text("done.", { usage: { input_tokens: 40, output_tokens: 3 } });
  const text = typeof last === "string" ? last : JSON.stringify(last);
  const remember = /remember (\w+) = (\w+)/.exec(text);
  if (remember) return fakeSteps.toolUse("remember", { key: remember[1], value: remember[2] });
  const recall = /recall (\w+)/.exec(text);
  if (recall) return fakeSteps.toolUse("recall", { key: recall[1] });
  if (text.includes("bad tool")) return fakeSteps.toolUse("remember", { key: 42 });
  return fakeSteps.text("ok.");
}

beforeAll(async () => {
  fake = await startFakeAnthropic();
  fake.respond(model);
  host = await startColony(["dev"], { ANTHROPIC_API_KEY: fake.apiKey, ANTHROPIC_BASE_URL: fake.url });
  const post = async (path: string, body: unknown, status: number) => {
    const res = await http(host.url, "POST", path, body);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(status);
    return res.body;
  };
  // Busy: several agents, tool calls that succeed, fail validation and are denied, messages waited for and not.
  await post("/v1/agents", { type: "assistant", key: "m1", config: { tools: ["remember", "recall"] } }, 201);
  await post("/v1/agents", { type: "assistant", key: "m2", config: { tools: ["remember", "recall"], permissions: { recall: "deny" } } }, 201);
  await post("/v1/agents", { type: "assistant", key: "m3" }, 201);
  await Promise.all([
    (async () => {
      await post("/v1/agents/assistant/m1/messages", { content: "remember colour = green" }, 200);
      await post("/v1/agents/assistant/m1/messages", { content: "recall colour" }, 200);
      await post("/v1/agents/assistant/m1/messages", { content: "bad tool" }, 200);
      await post("/v1/agents/assistant/m1/messages", { content: "hello", idempotencyKey: "k1" }, 200);
      await post("/v1/agents/assistant/m1/messages", { content: "hello", idempotencyKey: "k1" }, 200);
    })(),
    (async () => {
      await post("/v1/agents/assistant/m2/messages", { content: "remember a = b" }, 200);
      await post("/v1/agents/assistant/m2/messages", { content: "recall a" }, 200);
    })(),
    (async () => {
      for (let i = 0; i < 5; i++) await post("/v1/agents/assistant/m3/messages", { content: `message ${i}`, wait: i % 2 === 0 }, i % 2 === 0 ? 200 : 202);
    })(),
  ]);
  await post("/v1/agents", { type: "assistant", key: "m1" }, 409);
  await waitFor(async () => (await http(host.url, "GET", "/v1/agents/assistant/m3")).body.turns === 5, { message: "m3's queued turns" });
  const res = await fetch(`${host.url}/metrics`);
  expect(res.status).toBe(200);
  exposition = await res.text();
});
afterAll(async () => {
  await host?.[Symbol.asyncDispose]();
  await fake?.close();
});

describe("promtool check metrics", () => {
  it("scrapes a busy host: our metrics have samples, default process metrics are on", () => {
    for (const sample of [
      /^colony_agents_active\{type="assistant"\} 3$/m,
      /^colony_agent_activations_total\{type="assistant",reason="new"\} \d+/m,
      /^colony_messages_total\{type="assistant",outcome="completed"\} \d+/m,
      /^colony_turn_duration_seconds_bucket\{le="[^"]+",type="assistant"\} [1-9]/m,
      /^colony_snapshot_write_duration_seconds_count [1-9]/m,
      /^colony_snapshot_bytes_count [1-9]/m,
      /^colony_llm_requests_total\{model="[^"]+",status="ok"\} [1-9]/m,
      /^colony_llm_tokens_total\{model="[^"]+",kind="input"\} [1-9]/m,
      /^colony_llm_request_duration_seconds_count\{model="[^"]+"\} [1-9]/m,
      /^colony_tool_calls_total\{tool="remember",outcome="ok"\} [1-9]/m,
      /^colony_tool_calls_total\{tool="recall",outcome="denied"\} [1-9]/m,
      /^colony_directory_lookups_total\{result="[a-z]+"\} [1-9]/m,
      /^process_cpu_seconds_total \d/m,
      /^nodejs_heap_size_used_bytes \d/m,
    ]) {
      expect(exposition, String(sample)).toMatch(sample);
    }
    // No agent key or message id in any label.
    expect(exposition).not.toMatch(/"(assistant\/)?m[123]"/);
  });

  it("finds nothing about our metrics (only prom-client's three nodejs_active_*_total gauges are excepted)", async () => {
    // Never skipped: a missing linter is a broken environment, and says how to fix it.
    expect(existsSync(PROMTOOL), `${PROMTOOL} is missing: install the Debian package "prometheus" (apt-get install -y prometheus)`).toBe(true);
    const { code, output } = await promtoolCheck(exposition);
    // promtool: 0 clean, 3 lint findings only; anything else (1: parse error) is a failure in itself.
    expect([0, 3], `promtool exited ${code}: ${output}`).toContain(code);
    const findings = output
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    const ours = findings.filter((line) => !EXCEPTED.has(line.split(/\s+/)[0]!));
    expect(ours, `promtool findings about our metrics:\n${ours.join("\n")}`).toEqual([]);
    if (code === 3) expect(findings.length).toBeGreaterThan(0);
  });
});
