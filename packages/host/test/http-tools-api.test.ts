/**
 * HTTP tools declared through the admin API, called by agents: two
 * in-process hosts, a real local HTTP service, the scripted model calling the
 * tool (`tool <name> <json>`), and a secret that must appear nowhere.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Logger, LogFields } from "@colony/actors";
import { MemoryApprovalIndex, MemoryStoreDriver } from "@colony/actors";
import { MemoryTraceStore } from "../src/observability/trace-store.ts";
import { MemoryPlacementRegistry } from "@colony/directory";
import type { EmbeddedCluster, HostNode } from "../src/index.ts";
import { MemoryToolDeclarationStore, secretsFrom } from "../src/index.ts";
import { call, startTestCluster } from "../src/testing/index.ts";
import type { HttpService } from "../../../test/harness/http-service.ts";
import { startHttpService } from "../../../test/harness/http-service.ts";
import { waitFor } from "../../../test/harness/wait.ts";

const SECRET = "wk-9f3b27c4e1d0a8";

/** Every log line any host writes, as JSON, to grep for the secret. */
function capturingLogger(lines: string[], bindings: LogFields = {}): Logger {
  const write = (level: string) => (fields: LogFields, msg: string) => void lines.push(JSON.stringify({ level, ...bindings, ...fields, msg }));
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error"), child: (b) => capturingLogger(lines, { ...bindings, ...b }) };
}

const weather = (url: string) => ({
  description: "Current weather for a city.",
  inputSchema: { type: "object", properties: { city: { type: "string", minLength: 1 } }, required: ["city"], additionalProperties: false },
  http: { method: "GET", url: `${url}/weather/{city}?key={{secret:WEATHER_KEY}}`, headers: { authorization: "Bearer {{secret:WEATHER_KEY}}" }, timeoutMs: 2000, retries: 1 },
  rateLimit: { perAgentPerMinute: 50 },
});

async function readEvents(host: HostNode, path: string, during: () => Promise<void>): Promise<string> {
  const res = await fetch(`${host.url}${path}`);
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let started = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    if (!started && text.includes("event: ready")) {
      started = true;
      await during();
    }
  }
  return text;
}

let service: HttpService;
let cluster: EmbeddedCluster | undefined;
const logs: string[] = [];
beforeAll(async () => {
  // Echoes what it received, the secret included: Colony must mask it in what it reports.
  service = await startHttpService((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ city: decodeURIComponent(req.url.split("/")[2]!.split("?")[0]!), temp: 14, echo: { auth: req.headers.authorization, url: req.url } }));
  });
});
afterAll(() => service.close());
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

describe("HTTP tools through the admin API", () => {
  it("declares, lists, replaces and deletes a tool; refuses a bad declaration whole and a built-in's name", async () => {
    cluster = await startTestCluster({ hosts: 2 });
    const [a, b] = cluster.hosts as [HostNode, HostNode];
    const created = await call(a, "PUT", "/v1/tools/weather", weather(service.url));
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/v1/tools/weather");
    // Announced: host B knows it without reading the store (its periodic re-read is 30 s away).
    await waitFor(() => b.declaredTools.names().includes("weather"), { timeoutMs: 5_000, message: "host B to hear of the declaration" });
    expect(created.body).toMatchObject({ name: "weather", permission: "auto", http: { method: "GET", retries: 1, timeoutMs: 2000 }, rateLimit: { perAgentPerMinute: 50 } });
    const replaced = await call(b, "PUT", "/v1/tools/weather", { ...weather(service.url), permission: "approval" });
    expect(replaced.status).toBe(200);
    expect((await call(a, "GET", "/v1/tools/weather")).body.permission).toBe("approval");
    expect((await call(b, "GET", "/v1/tools")).body.tools.map((t: { name: string }) => t.name)).toEqual(["weather"]);

    const bad = await call(a, "PUT", "/v1/tools/forecast", { ...weather(service.url), http: { ...weather(service.url).http, url: `${service.url}/{town}` } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "validation_failed", details: { field: "body.http.url" } });
    expect((await call(a, "GET", "/v1/tools/forecast")).status).toBe(404);
    expect((await call(a, "PUT", "/v1/tools/remember", weather(service.url))).status).toBe(409);
    expect((await call(a, "PUT", "/v1/tools/delegate", weather(service.url))).status).toBe(409);
    expect((await call(a, "PUT", "/v1/tools/bad.name", weather(service.url))).status).toBe(400);
    expect((await call(a, "PUT", "/v1/tools/weather", "{broken")).status).toBe(400);

    expect((await call(b, "DELETE", "/v1/tools/weather")).status).toBe(204);
    expect((await call(a, "GET", "/v1/tools/weather")).status).toBe(404);
    expect((await call(a, "DELETE", "/v1/tools/weather")).status).toBe(404);
    expect((await call(a, "GET", "/v1/tools")).body).toEqual({ tools: [] });
  });

  it("an agent calls the tool through another host's declaration; the service gets the Idempotency-Key, the trace records it; a bad argument never reaches the service", async () => {
    logs.length = 0;
    cluster = await startTestCluster({ hosts: 2, secrets: secretsFrom({ WEATHER_KEY: SECRET }), logger: capturingLogger(logs) });
    const [a, b] = cluster.hosts as [HostNode, HostNode];
    expect((await call(a, "PUT", "/v1/tools/weather", weather(service.url))).status).toBe(201);
    // Declared on A, spawned at once on B, which may run the agent anywhere.
    const spawned = await call(b, "POST", "/v1/agents", { type: "assistant", key: "w1", config: { tools: ["weather"] } });
    expect(spawned.status).toBe(201);
    service.requests.length = 0;

    let sent: any;
    const events = await readEvents(a, "/v1/agents/assistant/w1/events?until=turn_end", async () => {
      sent = await call(b, "POST", "/v1/agents/assistant/w1/messages", { content: 'tool weather {"city":"São Paulo"}' });
    });
    expect(sent.body.status).toBe("completed");
    expect(sent.body.reply).toContain('"temp":14');
    expect(service.requests).toHaveLength(1);
    const key = `assistant/w1:${sent.body.messageId}:toolu_s1_weather`;
    expect(service.requests[0]!.headers["idempotency-key"]).toBe(key);
    expect(service.requests[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(service.requests[0]!.url).toBe(`/weather/S%C3%A3o%20Paulo?key=${SECRET}`);

    // The agent may run on either host, which holds its trace entries for a moment (TRACE_FLUSH_DELAY_MS): both write what they hold.
    await Promise.all(cluster.hosts.map((h) => h.events.flush()));
    const trace = await call(a, "GET", "/v1/agents/assistant/w1/trace");
    const kinds = trace.body.entries.map((e: any) => e.event);
    expect(kinds.find((e: any) => e.kind === "tool_call")).toMatchObject({ tool: "weather", idempotencyKey: key });
    expect(kinds.find((e: any) => e.kind === "tool_result")).toMatchObject({ outcome: "ok", details: { status: 200, attempts: 1, idempotencyKey: key, url: `${service.url}/weather/S%C3%A3o%20Paulo?key={{secret:WEATHER_KEY}}` } });

    const invalid = await call(a, "POST", "/v1/agents/assistant/w1/messages", { content: 'tool weather {"city":""}' });
    expect(invalid.body.reply).toMatch(/The weather call failed: invalid arguments for weather: city/);
    expect(service.requests).toHaveLength(1);

    // The secret appears nowhere an operator or a log reader looks.
    await Promise.all(cluster.hosts.map((h) => h.events.flush()));
    const seen = {
      trace: JSON.stringify((await call(b, "GET", "/v1/agents/assistant/w1/trace")).body),
      conversation: JSON.stringify((await call(b, "GET", "/v1/agents/assistant/w1/messages")).body),
      events,
      tools: (await call(a, "GET", "/v1/tools")).text + (await call(b, "GET", "/v1/tools/weather")).text,
      metrics: (await call(a, "GET", "/metrics")).text + (await call(b, "GET", "/metrics")).text,
      logs: logs.join("\n"),
    };
    expect(seen.trace).toContain("[secret]"); // the echo was there, masked
    expect(seen.tools).toContain("{{secret:WEATHER_KEY}}");
    expect(seen.metrics).toContain('colony_tool_calls_total{tool="weather"');
    expect(seen.logs).toContain("HTTP tool declared");
    for (const [where, text] of Object.entries(seen)) expect(text.includes(SECRET), `secret found in ${where}`).toBe(false);

    // Deleted later: the agent's calls become "not available" error results.
    expect((await call(a, "DELETE", "/v1/tools/weather")).status).toBe(204);
    await waitFor(() => !b.declaredTools.names().includes("weather"), { message: "host B to hear of the delete" });
    const after = await call(b, "POST", "/v1/agents/assistant/w1/messages", { content: 'tool weather {"city":"Oslo"}' });
    expect(after.body.status).toBe("completed");
    // The model is no longer offered it (a model that calls it anyway gets "not available": registry tests).
    expect(after.body.reply).toBe("I would use the weather tool, but this agent does not have it.");
    expect(service.requests).toHaveLength(1);
  });

  it("an argument policy guards a declared tool: a denied call never reaches the service, the trace names the rule", async () => {
    cluster = await startTestCluster({ hosts: 1, secrets: secretsFrom({ WEATHER_KEY: SECRET }) });
    const host = cluster.hosts[0]!;
    expect((await call(host, "PUT", "/v1/tools/weather", weather(service.url))).status).toBe(201);
    const policies = { weather: [{ name: "no Atlantis", when: { path: "city", op: "eq", value: "Atlantis" }, tier: "deny" }] };
    expect((await call(host, "POST", "/v1/agents", { type: "assistant", key: "p1", config: { tools: ["weather"], policies } })).status).toBe(201);
    service.requests.length = 0;
    const denied = await call(host, "POST", "/v1/agents/assistant/p1/messages", { content: 'tool weather {"city":"Atlantis"}' });
    expect(denied.body.reply).toMatch(/tool call denied: argument policy rule 0 \("no Atlantis"\) of weather chose deny/);
    expect(service.requests).toHaveLength(0);
    const allowed = await call(host, "POST", "/v1/agents/assistant/p1/messages", { content: 'tool weather {"city":"Lima"}' });
    expect(allowed.body.reply).toContain('"temp":14');
    expect(service.requests).toHaveLength(1);
  });

  it("a tool declared with the approval tier waits for a person; the service is called once, after the approval", async () => {
    cluster = await startTestCluster({ hosts: 1, secrets: secretsFrom({ WEATHER_KEY: SECRET }) });
    const host = cluster.hosts[0]!;
    expect((await call(host, "PUT", "/v1/tools/weather", { ...weather(service.url), permission: "approval" })).status).toBe(201);
    expect((await call(host, "POST", "/v1/agents", { type: "assistant", key: "g1", config: { tools: ["weather"] } })).status).toBe(201);
    service.requests.length = 0;
    const paused = await call(host, "POST", "/v1/agents/assistant/g1/messages", { content: 'tool weather {"city":"Quito"}', idempotencyKey: "ask-1" });
    expect(paused.body).toMatchObject({ status: "awaiting_approval", awaiting: ["toolu_s1_weather"] });
    expect(service.requests).toHaveLength(0);
    expect((await call(host, "POST", "/v1/agents/assistant/g1/approvals/toolu_s1_weather", { approve: true })).status).toBe(200);
    const done = await call(host, "POST", "/v1/agents/assistant/g1/messages", { content: 'tool weather {"city":"Quito"}', idempotencyKey: "ask-1" });
    expect(done.body.reply).toContain('"temp":14');
    expect(service.requests).toHaveLength(1);
    expect(service.requests[0]!.headers["idempotency-key"]).toBe(`assistant/g1:${paused.body.messageId}:toolu_s1_weather`);
  });

  it("a spawn naming a tool this host has not heard of re-reads the store before refusing", async () => {
    const toolStore = new MemoryToolDeclarationStore();
    const driver = new MemoryStoreDriver();
    cluster = await startTestCluster({
      hosts: 1,
      storage: { driver, registry: new MemoryPlacementRegistry(driver), approvals: new MemoryApprovalIndex(), traces: new MemoryTraceStore(), toolStore },
    });
    const host = cluster.hosts[0]!;
    // Written by "another host" whose announcement never arrived.
    await toolStore.put({ name: "quiet", ...(await import("../src/index.ts")).parseHttpToolBody(weather(service.url)), updatedAt: Date.now() });
    expect(host.declaredTools.names()).toEqual([]);
    const res = await call(host, "POST", "/v1/agents", { type: "assistant", key: "q1", config: { tools: ["quiet"] } });
    expect(res.status).toBe(201);
    // So does a policy naming one.
    await toolStore.put({ name: "quieter", ...(await import("../src/index.ts")).parseHttpToolBody(weather(service.url)), updatedAt: Date.now() });
    const guarded = await call(host, "POST", "/v1/agents", { type: "assistant", key: "q3", config: { policies: { quieter: [{ when: { path: "city", op: "eq", value: "x" }, tier: "deny" }] } } });
    expect(guarded.status).toBe(201);
    const unknown = await call(host, "POST", "/v1/agents", { type: "assistant", key: "q2", config: { tools: ["nowhere"] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/unknown tool "nowhere"/);
  });
});
