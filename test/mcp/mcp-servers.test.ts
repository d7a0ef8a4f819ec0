/**
 * MCP servers declared through the API: an SDK-built server in this suite
 * (Streamable HTTP; stdio behind its opt-in), its tools discovered and
 * called by the Claude stand-in (the real Anthropic SDK against the fake
 * Messages API) through Colony, a restart of the server mid-call.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { AnthropicModel } from "@colony/actors";
import { FAKE_ANTHROPIC_API_KEY, fakeSteps, startFakeAnthropic } from "@colony/actors/testing";
import type { FakeAnthropic } from "@colony/actors/testing";
import type { EmbeddedCluster, HostNode } from "@colony/host";
import { secretsFrom } from "@colony/host";
import { call, eventually, startTestCluster } from "@colony/host/testing";
import { type McpFixture, startMcpFixture } from "./fixture-server.ts";

const MODEL = "claude-haiku-4-5";
let fake: FakeAnthropic | undefined;
let cluster: EmbeddedCluster | undefined;
let mcp: McpFixture | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
  await fake?.close();
  fake = undefined;
  await mcp?.close();
  mcp = undefined;
});

type SentBlock = { type: string; tool_use_id?: string; is_error?: boolean; content?: unknown };
const lastUserBlocks = (i: number): SentBlock[] => {
  const msgs = (fake!.requests[i]!.body as { messages: { role: string; content: SentBlock[] | string }[] }).messages;
  const last = msgs[msgs.length - 1]!;
  return typeof last.content === "string" ? [] : last.content;
};
const toolResult = (i: number) => lastUserBlocks(i).find((b) => b.type === "tool_result")!;
const text = (b: SentBlock) => (typeof b.content === "string" ? b.content : JSON.stringify(b.content));

async function start(opts: { hosts?: number; allowStdio?: boolean; secrets?: Record<string, string> } = {}): Promise<HostNode> {
  fake = await startFakeAnthropic();
  const model = new AnthropicModel({ apiKey: FAKE_ANTHROPIC_API_KEY, baseURL: fake.url, retryBaseMs: 1, maxRetries: 0, midStreamRetries: 0 });
  cluster = await startTestCluster({
    model,
    hosts: opts.hosts ?? 1,
    config: opts.allowStdio ? { mcpAllowStdio: true } : {},
    ...(opts.secrets ? { secrets: secretsFrom(opts.secrets) } : {}),
  });
  return cluster.hosts[0]!;
}

async function spawn(host: HostNode, key: string, tools: string[]) {
  const res = await call(host, "POST", "/v1/agents", { type: "assistant", key, config: { model: MODEL, tools } });
  expect(res.status, res.text).toBe(201);
}

describe("MCP servers over Streamable HTTP", () => {
  it("discovers the server's tools; Claude calls calc__add through Colony; the server sees the idempotency key in _meta", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    const put = await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url });
    expect(put.status, put.text).toBe(201);
    expect(put.body).toMatchObject({ name: "calc", tools: ["calc__add", "calc__fail", "calc__slow"], status: { connected: true, tools: 3, lastError: null } });

    fake!.enqueue(fakeSteps.toolUse("calc__add", { a: 2, b: 3 }, { id: "toolu_add" }), fakeSteps.text("2 + 3 = 5"));
    await spawn(host, "adder", ["calc__add"]);
    const res = await call(host, "POST", "/v1/agents/assistant/adder/messages", { content: "what is 2 + 3?" });
    expect(res.body).toMatchObject({ status: "completed", reply: "2 + 3 = 5" });

    // The model was shown the server's JSON Schema as the server wrote it.
    const offered = (fake!.requests[0]!.body as { tools: { name: string; input_schema: any }[] }).tools;
    expect(offered.map((t) => t.name)).toEqual(["calc__add"]);
    expect(offered[0]!.input_schema).toMatchObject({ type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] });
    expect(toolResult(1)).toMatchObject({ tool_use_id: "toolu_add" });
    expect(toolResult(1).is_error).toBeFalsy();
    expect(text(toolResult(1))).toContain("5");
    expect(mcp.calls).toHaveLength(1);
    const key = mcp.calls[0]!.meta?.["colony/idempotencyKey"];
    expect(typeof key).toBe("string");
    expect(String(key)).toContain("toolu_add");
  });

  it("checks arguments against the server's schema before calling it, and keeps isError results errors", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    expect((await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url })).status).toBe(201);
    fake!.enqueue(fakeSteps.toolUse("calc__add", { a: "two", b: 3 }), fakeSteps.toolUse("calc__fail", {}), fakeSteps.text("gave up"));
    await spawn(host, "bad", ["calc__add", "calc__fail"]);
    const res = await call(host, "POST", "/v1/agents/assistant/bad/messages", { content: "add two and 3" });
    expect(res.body).toMatchObject({ status: "completed", reply: "gave up" });
    expect(toolResult(1)).toMatchObject({ is_error: true });
    expect(text(toolResult(1))).toContain("invalid arguments for calc__add");
    expect(toolResult(2)).toMatchObject({ is_error: true });
    expect(text(toolResult(2))).toContain("boom");
    expect(mcp.calls).toHaveLength(0); // add never reached the server; fail does not record
  });

  it("a server restarted mid-call: the call ends as an error the model sees (no hung turn), and the next call reconnects", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    expect((await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url })).status).toBe(201);
    fake!.enqueue(fakeSteps.toolUse("calc__slow", {}, { id: "toolu_slow" }), fakeSteps.text("the server went away"));
    await spawn(host, "restart", ["calc__slow", "calc__add"]);
    const sending = call(host, "POST", "/v1/agents/assistant/restart/messages", { content: "take your time" });
    await mcp.slowStarted();
    const stoppedAt = Date.now();
    await mcp.stop();
    await mcp.start();
    const res = await sending;
    const took = Date.now() - stoppedAt;
    expect(res.body).toMatchObject({ status: "completed", reply: "the server went away" });
    expect(toolResult(1)).toMatchObject({ tool_use_id: "toolu_slow", is_error: true });
    expect(text(toolResult(1))).toMatch(/MCP server calc/);
    expect(took).toBeLessThan(10_000); // far below the 30 s tool timeout: the lost connection ended the call
    console.log(`MCP restart mid-call: the call ended ${took} ms after the server stopped`);

    fake!.enqueue(fakeSteps.toolUse("calc__add", { a: 40, b: 2 }), fakeSteps.text("42"));
    const next = await call(host, "POST", "/v1/agents/assistant/restart/messages", { content: "now add" });
    expect(next.body).toMatchObject({ status: "completed", reply: "42" });
    expect(toolResult(3).is_error).toBeFalsy();
    expect(text(toolResult(3))).toContain("42");
    expect((await call(host, "GET", "/v1/mcp/calc")).body.status).toMatchObject({ connected: true, lastError: null });
  });

  it("a server that forgot the session (restarted between calls): the call is retried once on a new session and succeeds", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    expect((await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url })).status).toBe(201);
    mcp.forgetSessions();
    fake!.enqueue(fakeSteps.toolUse("calc__add", { a: 4, b: 5 }), fakeSteps.text("9"));
    await spawn(host, "forgotten", ["calc__add"]);
    const res = await call(host, "POST", "/v1/agents/assistant/forgotten/messages", { content: "add" });
    expect(res.body).toMatchObject({ status: "completed", reply: "9" });
    expect(toolResult(1).is_error).toBeFalsy();
    expect(text(toolResult(1))).toContain("9");
    expect(mcp.calls).toHaveLength(1);
  });

  it("a server that is down: its known tools stay listed, a call is an error result at once, GET shows why", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    expect((await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url })).status).toBe(201);
    await mcp.stop();
    fake!.enqueue(fakeSteps.toolUse("calc__add", { a: 1, b: 1 }), fakeSteps.text("server down"));
    await spawn(host, "down", ["calc__add"]);
    const t0 = Date.now();
    const res = await call(host, "POST", "/v1/agents/assistant/down/messages", { content: "add" });
    expect(res.body).toMatchObject({ status: "completed", reply: "server down" });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(toolResult(1)).toMatchObject({ is_error: true });
    expect(text(toolResult(1))).toContain("MCP server calc");
    const got = await call(host, "GET", "/v1/mcp/calc");
    expect(got.body.tools).toContain("calc__add");
    expect(got.body.status.connected).toBe(false);
    expect(got.body.status.lastError).toContain("ECONNREFUSED");
  });

  it("a tool whose tier is approval pauses the turn", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    expect((await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url, tools: { add: { permission: "approval" } } })).status).toBe(201);
    fake!.enqueue(fakeSteps.toolUse("calc__add", { a: 1, b: 2 }), fakeSteps.text("3"));
    await spawn(host, "careful", ["calc__add"]);
    const res = await call(host, "POST", "/v1/agents/assistant/careful/messages", { content: "add", idempotencyKey: "careful-1" });
    expect(res.body).toMatchObject({ status: "awaiting_approval" });
    expect(mcp.calls).toHaveLength(0);
    const [pending] = (await call(host, "GET", "/v1/approvals")).body.approvals;
    expect(pending).toMatchObject({ tool: "calc__add", input: { a: 1, b: 2 } });
    expect((await call(host, "POST", `/v1/agents/assistant/careful/approvals/${pending.callId}`, { approve: true })).status).toBe(200);
    const done = await call(host, "POST", "/v1/agents/assistant/careful/messages", { content: "add", idempotencyKey: "careful-1" });
    expect(done.body).toMatchObject({ status: "completed", reply: "3" });
    expect(mcp.calls).toHaveLength(1);
    expect(mcp.calls[0]!.meta?.["colony/idempotencyKey"]).toEqual(expect.stringContaining(pending.callId));
  });

  it("rate limits and timeouts apply: over the limit is an error result, a call past its timeout is cancelled on the server", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    const put = await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url, tools: { add: { rateLimit: { perAgentPerMinute: 1 } }, slow: { timeoutMs: 300 } } });
    expect(put.status, put.text).toBe(201);
    fake!.enqueue(fakeSteps.toolUse("calc__add", { a: 1, b: 1 }), fakeSteps.toolUse("calc__add", { a: 2, b: 2 }), fakeSteps.toolUse("calc__slow", {}), fakeSteps.text("done"));
    await spawn(host, "limited", ["calc__add", "calc__slow"]);
    const res = await call(host, "POST", "/v1/agents/assistant/limited/messages", { content: "go" });
    expect(res.body).toMatchObject({ status: "completed", reply: "done" });
    expect(text(toolResult(1))).toContain("2");
    expect(toolResult(2)).toMatchObject({ is_error: true });
    expect(text(toolResult(2))).toContain("rate limited");
    expect(toolResult(3)).toMatchObject({ is_error: true });
    expect(text(toolResult(3))).toContain("timed out after 300 ms");
    expect(mcp.calls.map((c) => c.tool)).toEqual(["add", "slow"]);
    await eventually(() => expect(mcp!.cancelled).toBe(1), 10_000);
  });

  it("deleting the agent mid-call cancels the call on the server", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    expect((await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url })).status).toBe(201);
    fake!.enqueue(fakeSteps.toolUse("calc__slow", {}), fakeSteps.text("never"));
    await spawn(host, "doomed", ["calc__slow"]);
    expect((await call(host, "POST", "/v1/agents/assistant/doomed/messages", { content: "go", wait: false })).status).toBe(202);
    await mcp.slowStarted();
    expect((await call(host, "DELETE", "/v1/agents/assistant/doomed")).status).toBe(204);
    await eventually(() => expect(mcp!.cancelled).toBe(1), 10_000);
  });

  it("re-lists the tools when the server says its list changed", async () => {
    mcp = await startMcpFixture();
    const host = await start();
    expect((await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url })).body.tools).not.toContain("calc__mul");
    mcp.addMul();
    await eventually(async () => expect((await call(host, "GET", "/v1/mcp/calc")).body.tools).toContain("calc__mul"), 10_000);
    // A tool whose exposed name would break the Messages API's rule is skipped, and GET says which.
    const got = (await call(host, "GET", "/v1/mcp/calc")).body;
    expect(got.tools).toEqual(["calc__add", "calc__fail", "calc__mul", "calc__slow"]);
    expect(got.status).toMatchObject({ tools: 5, skipped: ["summarise_every_single_thing_this_server_can_do_in_detail_x"] });
    fake!.enqueue(fakeSteps.toolUse("calc__mul", { a: 6, b: 7 }), fakeSteps.text("42"));
    await spawn(host, "mul", ["calc__mul"]);
    expect((await call(host, "POST", "/v1/agents/assistant/mul/messages", { content: "6 * 7" })).body).toMatchObject({ status: "completed", reply: "42" });
    expect(text(toolResult(1))).toContain("42");
  });

  it("every host sees a PUT at once; a spawn naming a tool a host does not know yet re-reads before refusing", async () => {
    mcp = await startMcpFixture();
    const a = await start({ hosts: 2 });
    const b = cluster!.hosts[1]!;
    expect((await call(a, "PUT", "/v1/mcp/calc", { url: mcp.url })).status).toBe(201);
    await eventually(async () => expect((await call(b, "GET", "/v1/mcp/calc")).body.status).toMatchObject({ connected: true, tools: 3 }), 10_000);

    // Declared behind every host's back (no announcement): a spawn still finds it.
    const other = await startMcpFixture();
    try {
      await (b as any).mcp.o.store.put({ name: "calc2", declaration: { url: other.url, headers: {}, permission: "auto", tools: {} }, updatedAt: Date.now() });
      const res = await call(b, "POST", "/v1/agents", { type: "assistant", key: "late", config: { model: MODEL, tools: ["calc2__add"] } });
      expect(res.status, res.text).toBe(201);
      const refused = await call(b, "POST", "/v1/agents", { type: "assistant", key: "nope", config: { model: MODEL, tools: ["calc2__nope"] } });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain("calc2__nope");
    } finally {
      await other.close();
    }
    expect((await call(a, "DELETE", "/v1/mcp/calc")).status).toBe(204);
    await eventually(async () => expect((await call(b, "GET", "/v1/mcp/calc")).status).toBe(404), 10_000);
  });
});

describe("MCP declarations", () => {
  it("resolves {{secret:NAME}} header references on the host, never returning or storing them resolved", async () => {
    mcp = await startMcpFixture();
    const secret = "s3cr3t-mcp-token-value";
    const host = await start({ secrets: { CALC_TOKEN: secret } });
    const put = await call(host, "PUT", "/v1/mcp/calc", { url: mcp.url, headers: { Authorization: "Bearer {{secret:CALC_TOKEN}}" } });
    expect(put.status, put.text).toBe(201);
    expect(put.body.status.connected).toBe(true);
    expect(mcp.authorizations.length).toBeGreaterThan(0);
    expect(mcp.authorizations.every((a) => a === `Bearer ${secret}`)).toBe(true);
    for (const res of [put, await call(host, "GET", "/v1/mcp"), await call(host, "GET", "/v1/mcp/calc")]) {
      expect(res.text).not.toContain(secret);
      expect(res.text).toContain("{{secret:CALC_TOKEN}}");
    }
    const stored = await (host as any).mcp.o.store.get("calc");
    expect(JSON.stringify(stored)).not.toContain(secret);

    // A reference this host cannot resolve: not connected, and the error names the variable only.
    const missing = await call(host, "PUT", "/v1/mcp/other", { url: mcp.url, headers: { Authorization: "Bearer {{secret:NOT_SET_ANYWHERE}}" } });
    expect(missing.status).toBe(201);
    expect(missing.body.status).toMatchObject({ connected: false, lastError: expect.stringContaining("COLONY_SECRET_NOT_SET_ANYWHERE") });
  });

  it("refuses bad declarations with 400 and stores nothing", async () => {
    const host = await start();
    const bad: [string, unknown][] = [
      ["/v1/mcp/Calc", { url: "http://127.0.0.1:1/mcp" }],
      ["/v1/mcp/a-very-long-server-name-that-does-not-fit", { url: "http://127.0.0.1:1/mcp" }],
      ["/v1/mcp/calc", { url: "ftp://example.com/mcp" }],
      ["/v1/mcp/calc", { url: "http://127.0.0.1:1/mcp", colour: "red" }],
      ["/v1/mcp/calc", { url: "http://127.0.0.1:1/mcp", permission: "sometimes" }],
      ["/v1/mcp/calc", {}],
    ];
    for (const [path, body] of bad) {
      const res = await call(host, "PUT", path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect((await call(host, "GET", "/v1/mcp")).body).toEqual({ servers: [] });
  });

  it("stdio: refused without the opt-in; with it, a stdio fixture server's tools work", async () => {
    const stdio = { command: process.execPath, args: ["--import", "tsx", fileURLToPath(new URL("./stdio-server.ts", import.meta.url))] };
    let host = await start();
    const refused = await call(host, "PUT", "/v1/mcp/local", stdio);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("COLONY_MCP_ALLOW_STDIO");
    expect((await call(host, "GET", "/v1/mcp")).body).toEqual({ servers: [] });
    await cluster!.shutdown();
    await fake!.close();

    host = await start({ allowStdio: true });
    const put = await call(host, "PUT", "/v1/mcp/local", stdio);
    expect(put.status, put.text).toBe(201);
    expect(put.body).toMatchObject({ tools: ["local__add", "local__fail", "local__slow"], status: { transport: "stdio", connected: true } });
    fake!.enqueue(fakeSteps.toolUse("local__add", { a: 20, b: 22 }), fakeSteps.text("42"));
    await spawn(host, "stdio", ["local__add"]);
    const res = await call(host, "POST", "/v1/agents/assistant/stdio/messages", { content: "add" });
    expect(res.body).toMatchObject({ status: "completed", reply: "42" });
    expect(text(toolResult(1))).toContain("42");

    // A host without the opt-in refuses such a PUT and never starts the process another host declared.
    const plain = await cluster!.addHost({ mcpAllowStdio: false });
    expect((await call(plain, "PUT", "/v1/mcp/local2", stdio)).status).toBe(400);
    const seen = await call(plain, "GET", "/v1/mcp/local");
    expect(seen.body.tools).toEqual([]);
    expect(seen.body.status).toMatchObject({ transport: "stdio", connected: false, available: false, lastError: expect.stringContaining("COLONY_MCP_ALLOW_STDIO") });
  });
});
