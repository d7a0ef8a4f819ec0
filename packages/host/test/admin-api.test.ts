import { afterEach, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../src/index.ts";
import type { HostNode } from "../src/index.ts";
import { call, conversation, startTestHost } from "../src/testing/index.ts";

let host: HostNode & AsyncDisposable;
afterEach(async () => {
  await host?.shutdown();
});

async function spawn(key: string, config?: unknown) {
  const res = await call(host, "POST", "/v1/agents", { type: "assistant", key, ...(config ? { config } : {}) });
  expect(res.status).toBe(201);
  return res.body;
}

describe("POST /v1/agents", () => {
  it("spawns with defaults applied, 201 with a Location, and 409 for an existing id", async () => {
    host = await startTestHost();
    const res = await call(host, "POST", "/v1/agents", { type: "assistant", key: "a1", config: { tools: ["remember"], limits: { tokenBudget: 1000 } } });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe("/v1/agents/assistant/a1");
    expect(res.body).toMatchObject({ id: "assistant/a1", type: "assistant", key: "a1", status: "idle", host: null, turns: 0, parent: null, children: [] });
    expect(res.body.config).toMatchObject({ tools: ["remember"], limits: { tokenBudget: 1000, maxIterationsPerTurn: 10 } });

    const again = await call(host, "POST", "/v1/agents", { type: "assistant", key: "a1", config: { systemPrompt: "other" } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_exists");
    expect((await call(host, "GET", "/v1/agents/assistant/a1")).body.config.systemPrompt).toBe("You are a helpful assistant.");
  });

  it("generates a valid key when none is given", async () => {
    host = await startTestHost();
    const res = await call(host, "POST", "/v1/agents", { type: "assistant" });
    expect(res.status).toBe(201);
    expect(res.body.key).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it.each([
    ["a key with a dot", { type: "assistant", key: "a.b" }, "key"],
    ["a key with *", { type: "assistant", key: "a*" }, "key"],
    ["a key with >", { type: "assistant", key: "a>" }, "key"],
    ["a key with a space", { type: "assistant", key: "a b" }, "key"],
    ["a 129-character key", { type: "assistant", key: "k".repeat(129) }, "key"],
    ["an empty key", { type: "assistant", key: "" }, "key"],
    ["a type with a dot", { type: "assist.ant" }, "type"],
    ["an uppercase type", { type: "Assistant" }, "type"],
    ["a missing type", { key: "x" }, "type"],
    ["an unknown body field", { type: "assistant", colour: "red" }, "colour"],
    ["an unknown config field", { type: "assistant", config: { temperature: 1 } }, "config.temperature"],
    ["an unknown limits field", { type: "assistant", config: { limits: { maxIterationPerTurn: 3 } } }, "config.limits.maxIterationPerTurn"],
    ["a wrong config type", { type: "assistant", config: { idleMs: "soon" } }, "config.idleMs"],
    ["an unknown tool", { type: "assistant", config: { tools: ["remember", "rm-rf"] } }, "config.tools[1]"],
    ["an unknown worker tool", { type: "assistant", config: { workers: { w: { tools: ["nope"] } } } }, "config.workers.w.tools[0]"],
  ])("rejects %s with 400 naming the field", async (_what, body, field) => {
    host = await startTestHost();
    const res = await call(host, "POST", "/v1/agents", body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.field).toBe(field);
    expect(res.body.error.message).toContain(field.split(/[.[]/)[0]);
    expect((await call(host, "GET", "/v1/agents")).body.agents).toEqual([]);
  });

  it("rejects bodies that are not JSON objects", async () => {
    host = await startTestHost();
    for (const body of ["{not json", "", "[]", "42"]) {
      const res = await call(host, "POST", "/v1/agents", body);
      expect(res.status, body).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
  });

  it("answers 413 for a body over the documented limit", async () => {
    host = await startTestHost();
    const res = await call(host, "POST", "/v1/agents", { type: "assistant", config: { systemPrompt: "x".repeat(MAX_BODY_BYTES) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });
});

describe("GET /v1/agents", () => {
  it("pages through agents in id order with a cursor", async () => {
    host = await startTestHost();
    const keys = Array.from({ length: 7 }, (_, i) => `k${i}`);
    for (const k of keys.slice().reverse()) await spawn(k);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(host, "GET", `/v1/agents?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.agents.map((a: { key: string }) => a.key));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(keys);
    expect(pages).toBe(3);
  });

  it("filters by type and validates the query", async () => {
    host = await startTestHost();
    await spawn("one");
    expect((await call(host, "GET", "/v1/agents?type=assistant")).body.agents).toHaveLength(1);
    expect((await call(host, "GET", "/v1/agents?type=other")).body.agents).toHaveLength(0);
    for (const q of ["limit=0", "limit=501", "limit=x", "type=Bad.Type", "colour=red"]) {
      const res = await call(host, "GET", `/v1/agents?${q}`);
      expect(res.status, q).toBe(400);
    }
  });
});

describe("GET and DELETE /v1/agents/{type}/{key}", () => {
  it("reads state, 404s unknown agents and 400s bad ids", async () => {
    host = await startTestHost();
    await spawn("g1");
    const res = await call(host, "GET", "/v1/agents/assistant/g1");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(
      expect.arrayContaining(["id", "type", "key", "status", "host", "turns", "usage", "config", "parent", "children"]),
    );
    expect((await call(host, "GET", "/v1/agents/assistant/nobody")).status).toBe(404);
    const bad = await call(host, "GET", "/v1/agents/assistant/a%20b");
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe("key");
    expect((await call(host, "GET", `/v1/agents/assistant/${"k".repeat(129)}`)).status).toBe(400);
    expect((await call(host, "GET", "/v1/agents/Bad/x")).body.error.details.field).toBe("type");
  });

  it("deletes an agent (204), after which it is gone everywhere", async () => {
    host = await startTestHost();
    await spawn("d1");
    expect((await call(host, "POST", "/v1/agents/assistant/d1/messages", { content: "hi" })).status).toBe(200);
    expect((await call(host, "DELETE", "/v1/agents/assistant/d1")).status).toBe(204);
    expect((await call(host, "GET", "/v1/agents/assistant/d1")).status).toBe(404);
    expect((await call(host, "POST", "/v1/agents/assistant/d1/messages", { content: "hi" })).status).toBe(404);
    expect((await call(host, "DELETE", "/v1/agents/assistant/d1")).status).toBe(404);
    expect((await call(host, "GET", "/v1/agents")).body.agents).toEqual([]);
    // The id can be used again, from a clean slate.
    await spawn("d1");
    expect((await call(host, "GET", "/v1/agents/assistant/d1")).body.turns).toBe(0);
  });
});

describe("POST /v1/agents/{type}/{key}/messages", () => {
  it("waits for the reply by default and returns usage", async () => {
    host = await startTestHost();
    await spawn("m1");
    const res = await call(host, "POST", "/v1/agents/assistant/m1/messages", { content: "hello there" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "completed", reply: 'You said: "hello there" (message #1 of this conversation).' });
    expect(res.body.messageId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(res.body.usage.inputTokens).toBeGreaterThan(0);
    const state = (await call(host, "GET", "/v1/agents/assistant/m1")).body;
    expect(state).toMatchObject({ turns: 1, host: host.service.hostId, status: "idle" });
    expect(state.usage.inputTokens).toBe(res.body.usage.inputTokens);
  });

  it("answers 202 with a messageId for wait=false, and the turn still runs", async () => {
    host = await startTestHost();
    await spawn("m2");
    const res = await call(host, "POST", "/v1/agents/assistant/m2/messages", { content: "later", wait: false });
    expect(res.status).toBe(202);
    expect(res.body.messageId).toBeTypeOf("string");
    const deadline = Date.now() + 5000;
    while ((await call(host, "GET", "/v1/agents/assistant/m2")).body.turns < 1) {
      if (Date.now() > deadline) throw new Error("turn never ran");
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  it("runs a tool call and keeps memory", async () => {
    host = await startTestHost();
    await spawn("m3", { tools: ["remember", "recall"] });
    const r1 = await call(host, "POST", "/v1/agents/assistant/m3/messages", { content: "remember city = Lisbon" });
    expect(r1.body.reply).toBe("I will remember that city is Lisbon.");
    const r2 = await call(host, "POST", "/v1/agents/assistant/m3/messages", { content: "what is city?" });
    expect(r2.body.reply).toBe("city is Lisbon.");
    const state = (await call(host, "GET", "/v1/agents/assistant/m3")).body;
    expect(state.memory).toEqual({ city: "Lisbon" });
    expect((await conversation(host, "assistant/m3")).flatMap((m: any) => m.content.map((b: any) => b.type))).toContain("tool_result");
  });

  it("does not let an agent call a tool its config does not list", async () => {
    host = await startTestHost();
    await spawn("m4", { tools: ["recall"] });
    const res = await call(host, "POST", "/v1/agents/assistant/m4/messages", { content: 'tool remember {"key":"k","value":"v"}' });
    expect(res.status).toBe(200);
    expect((await call(host, "GET", "/v1/agents/assistant/m4")).body.memory).toEqual({});
  });

  it("deduplicates by idempotencyKey: one turn, the same messageId and reply", async () => {
    host = await startTestHost();
    await spawn("m5");
    const first = await call(host, "POST", "/v1/agents/assistant/m5/messages", { content: "once", idempotencyKey: "op-1" });
    const again = await call(host, "POST", "/v1/agents/assistant/m5/messages", { content: "once", idempotencyKey: "op-1" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ messageId: first.body.messageId, reply: first.body.reply, duplicate: true });
    const noWait = await call(host, "POST", "/v1/agents/assistant/m5/messages", { content: "once", idempotencyKey: "op-1", wait: false });
    expect(noWait.status).toBe(202);
    expect(noWait.body).toMatchObject({ messageId: first.body.messageId, duplicate: true });
    expect((await call(host, "GET", "/v1/agents/assistant/m5")).body.turns).toBe(1);
  });

  it.each([
    ["empty content", { content: "" }, "content"],
    ["missing content", { wait: true }, "content"],
    ["non-boolean wait", { content: "x", wait: "yes" }, "wait"],
    ["an unknown field", { content: "x", priority: 1 }, "priority"],
    ["an empty idempotencyKey", { content: "x", idempotencyKey: "" }, "idempotencyKey"],
  ])("rejects %s with 400 naming the field and stores nothing", async (_what, body, field) => {
    host = await startTestHost();
    await spawn("m6");
    const res = await call(host, "POST", "/v1/agents/assistant/m6/messages", body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.field).toBe(field);
    expect((await call(host, "GET", "/v1/agents/assistant/m6")).body.turns).toBe(0);
  });

  it("404s a message to an agent that does not exist", async () => {
    host = await startTestHost();
    const res = await call(host, "POST", "/v1/agents/assistant/ghost/messages", { content: "hi" });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it("reports not ready while draining, and still serves", async () => {
    host = await startTestHost();
    await spawn("m7");
    host.service.startDraining();
    expect((await call(host, "GET", "/readyz")).status).toBe(503);
    expect((await call(host, "GET", "/healthz")).status).toBe(200);
    expect((await call(host, "GET", "/v1/agents/assistant/m7")).status).toBe(200);
    expect((await call(host, "POST", "/v1/agents", { type: "assistant" })).status).toBe(201);
  });

  it("answers 503 with Retry-After when no host can take the agent", async () => {
    host = await startTestHost();
    await spawn("m8");
    host.service.startDraining(); // its heartbeats now say so too
    await host.directory.drain();
    const res = await call(host, "POST", "/v1/agents/assistant/m8/messages", { content: "hi" });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("unavailable");
    expect(res.headers.get("retry-after")).toBe("1");
  });
});

describe("operational routes", () => {
  it("serves /healthz, /readyz and Prometheus /metrics", async () => {
    host = await startTestHost();
    await spawn("o1");
    await call(host, "POST", "/v1/agents/assistant/o1/messages", { content: "hi" });
    expect((await call(host, "GET", "/healthz")).body.status).toBe("ok");
    expect((await call(host, "GET", "/readyz")).status).toBe(200);
    const res = await host.app.request("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    for (const name of [
      'colony_agents_active{type="assistant"} 1',
      'colony_agent_activations_total{type="assistant",reason="new"} 1',
      'colony_messages_total{type="assistant",outcome="completed"} 1',
      "colony_turn_duration_seconds_count",
      "colony_snapshot_write_duration_seconds_count 1",
      "colony_snapshot_bytes_count 1",
    ]) {
      expect(text).toContain(name);
    }
  });

  it("answers unknown routes with the error shape", async () => {
    host = await startTestHost();
    const res = await call(host, "GET", "/v1/nothing");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it("requires the bearer token on /v1 when one is configured, compared exactly", async () => {
    host = await startTestHost({ config: { adminToken: "s3cret-token-of-16+" } });
    expect((await call(host, "GET", "/v1/agents")).status).toBe(401);
    expect((await call(host, "GET", "/v1/agents", undefined, { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await call(host, "GET", "/v1/agents", undefined, { authorization: "Bearer s3cret-token-of-16+x" })).status).toBe(401);
    expect((await call(host, "GET", "/v1/agents", undefined, { authorization: "Bearer s3cret-token-of-16+" })).status).toBe(200);
    expect((await call(host, "GET", "/healthz")).status).toBe(200);
    expect((await call(host, "GET", "/metrics")).status).toBe(200);
  });
});
