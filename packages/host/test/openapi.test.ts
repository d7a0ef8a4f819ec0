import { Ajv2020 } from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostNode } from "../src/index.ts";
import { MAX_BODY_BYTES } from "../src/index.ts";
import { call, startTestHost } from "../src/testing/index.ts";
import { waitFor } from "../../../test/harness/wait.ts";

/**
 * The OpenAPI 3.1 document served at /v1/openapi.json: structurally sound,
 * covering every route the app serves (each is declared once, with its
 * schemas, in admin/*-routes.ts), and describing what the API really answers
 * (real responses of an in-process host validated against it).
 */

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

/** Hono's `/v1/agents/:type/:key` as OpenAPI's `/v1/agents/{type}/{key}`. */
const toOpenApiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z]+)/g, "{$1}");

/** Every route the running app answers (its routing table; middleware, method ALL, excluded), once each. */
function servedRoutes(app: HostNode["app"]): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of app.routes) if (r.method !== "ALL") seen.set(`${r.method} ${r.path}`, { method: r.method.toLowerCase(), path: r.path });
  return [...seen.values()];
}

const DOC_ID = "urn:colony:openapi";

let host: HostNode & AsyncDisposable;
let doc: Doc;
let ajv: Ajv2020;

beforeAll(async () => {
  host = await startTestHost();
  const res = await call(host, "GET", "/v1/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  doc = res.body;
  // The whole document is registered once, so that #/components/schemas/… refs resolve as in the document.
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...doc, $id: DOC_ID });
});
afterAll(async () => {
  await host?.shutdown();
});

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
const validators = new Map<string, ValidateFunction>();

/** The validator of the JSON body the document promises for (method, path, status). */
function responseValidator(method: string, path: string, status: number): ValidateFunction {
  const op = doc.paths[path]?.[method];
  expect(op, `${method.toUpperCase()} ${path} is documented`).toBeDefined();
  expect(op.responses[String(status)], `${method.toUpperCase()} ${path} documents a ${status}`).toBeDefined();
  expect(op.responses[String(status)].content?.["application/json"]?.schema, `${method} ${path} ${status} has a JSON schema`).toBeDefined();
  const ref = `${DOC_ID}#/${pointer("paths", path, method, "responses", String(status), "content", "application/json", "schema")}`;
  let v = validators.get(ref);
  if (!v) validators.set(ref, (v = ajv.compile({ $ref: ref })));
  return v;
}

/** Calls the host and checks the answer against the document: the status is documented and the body validates. */
async function check(method: string, template: string, path: string, expectedStatus: number, body?: unknown, headers?: Record<string, string>) {
  const res = await call(host, method, path, body, headers);
  expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).toBe(expectedStatus);
  const validate = responseValidator(method.toLowerCase(), template, expectedStatus);
  const ok = validate(res.body);
  expect(ok, `${method} ${path} ${res.status} does not match the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body).slice(0, 500)}`).toBe(true);
  return res;
}

const AGENT = "/v1/agents/{type}/{key}";

describe("the OpenAPI document", () => {
  it("is a structurally valid OpenAPI 3.1 document", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path).toMatch(/^\//);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        expect(["get", "post", "put", "patch", "delete"]).toContain(method);
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        expect(operationIds.has(op.operationId), `operationId ${op.operationId} is unique`).toBe(false);
        operationIds.add(op.operationId);
        const pathParams = (op.parameters ?? []).filter((p: { in: string }) => p.in === "path");
        expect(pathParams.map((p: { name: string }) => p.name).sort(), `${method} ${path} declares its path parameters`).toEqual([...templated].sort());
        for (const p of op.parameters ?? []) {
          expect(["path", "query", "header", "cookie"]).toContain(p.in);
          if (p.in === "path") expect(p.required).toBe(true);
          expect(p.schema).toBeTypeOf("object");
        }
        const statuses = Object.keys(op.responses);
        expect(statuses.some((s) => /^2\d\d$/.test(s)), `${method} ${path} has a success response`).toBe(true);
        for (const [status, r] of Object.entries<any>(op.responses)) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          expect(r.description, `${method} ${path} ${status}`).toBeTypeOf("string");
          if (Number(status) >= 400) expect(r.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
        }
        if (op.requestBody) expect(op.requestBody.content["application/json"].schema.$ref).toMatch(/^#\/components\/schemas\//);
      }
    }
    // Every $ref points at a component, and every component is a JSON Schema (2020-12) that compiles.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.slice("#/components/schemas/".length)], ref).toBeDefined();
    }
    for (const name of Object.keys(doc.components.schemas)) {
      expect(() => ajv.compile({ $ref: `${DOC_ID}#/components/schemas/${name}` }), name).not.toThrow();
    }
  });

  it("documents every route the app serves, with its errors", () => {
    const routes = servedRoutes(host.app);
    expect(routes.length).toBeGreaterThanOrEqual(30);
    for (const r of routes) {
      const op = doc.paths[toOpenApiPath(r.path)]?.[r.method];
      expect(op, `${r.method.toUpperCase()} ${r.path} (served) is in the document`).toBeDefined();
      if (r.path.startsWith("/v1/")) {
        expect(Object.keys(op.responses), `${r.method} ${r.path}`).toEqual(expect.arrayContaining(["401", "500", "503"]));
        expect(op.security, `${r.method} ${r.path} needs the bearer token`).toBeUndefined();
      } else {
        expect(op.security, `${r.path} stays open`).toEqual([]);
      }
      if (r.path.includes(":type/:key")) expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["400", "404"]));
    }
    // …and nothing that the app does not serve.
    const documented = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`));
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${toOpenApiPath(r.path)}`).sort());
    expect(doc.paths["/v1/agents"]!.post.requestBody).toBeDefined();
    expect(doc.paths["/v1/agents"]!.get.parameters.map((p: { name: string }) => p.name)).toEqual(["type", "cursor", "limit"]);
  });
});

describe("real responses validate against the document", () => {
  it("spawn, list, get, send (200 and 202), resume's 409, hosts and the probes", async () => {
    await check("POST", "/v1/agents", "/v1/agents", 201, { type: "assistant", key: "v1", config: { tools: ["remember", "recall"], limits: { tokenBudget: 100_000 }, workers: { w: { tools: ["recall"] } } } });
    await check("POST", "/v1/agents", "/v1/agents", 201, { type: "assistant" });
    await check("POST", `${AGENT}/messages`, "/v1/agents/assistant/v1/messages", 200, { content: "remember colour = green" });
    await check("POST", `${AGENT}/messages`, "/v1/agents/assistant/v1/messages", 200, { content: "what is colour?", idempotencyKey: "q1" });
    const dup = await check("POST", `${AGENT}/messages`, "/v1/agents/assistant/v1/messages", 200, { content: "what is colour?", idempotencyKey: "q1" });
    expect(dup.body.duplicate).toBe(true);
    const accepted = await check("POST", `${AGENT}/messages`, "/v1/agents/assistant/v1/messages", 202, { content: "later", wait: false });
    expect(accepted.body.status).toBe("accepted");
    const view = await check("GET", AGENT, "/v1/agents/assistant/v1", 200);
    expect(view.body.messageCount).toBeGreaterThan(0);
    const page = await check("GET", `${AGENT}/messages`, "/v1/agents/assistant/v1/messages?limit=2", 200);
    expect(page.body).toMatchObject({ start: 0, total: view.body.messageCount, nextCursor: "2" });
    expect(page.body.messages).toHaveLength(2);
    await check("GET", "/v1/agents", "/v1/agents", 200);
    await check("GET", "/v1/agents", "/v1/agents?type=assistant&limit=1", 200);
    await check("GET", "/v1/hosts", "/v1/hosts", 200);
    await check("GET", "/v1/approvals", "/v1/approvals", 200);
    await check("POST", `${AGENT}/resume`, "/v1/agents/assistant/v1/resume", 409);
    await check("GET", "/healthz", "/healthz", 200);
    await check("GET", "/readyz", "/readyz", 200);
    // The validators are not vacuous: a missing field or one the document does not know fails.
    const validate = responseValidator("get", AGENT, 200);
    expect(validate({ ...view.body, surprise: 1 })).toBe(false);
    const { usage: _usage, ...withoutUsage } = view.body;
    expect(validate(withoutUsage)).toBe(false);
    const res = await call(host, "DELETE", "/v1/agents/assistant/v1");
    expect(res.status).toBe(204);
    expect(Object.keys(doc.paths[AGENT]!.delete.responses)).toContain("204");
  });

  it("declared HTTP tools: put (201, 200), list, get, delete", async () => {
    const tool = {
      description: "Search.",
      inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
      http: { method: "POST", url: "https://search.example/v1/{q}", headers: { authorization: "Bearer {{secret:SEARCH_KEY}}" }, body: { template: { query: "{q}", n: 3 } } },
      rateLimit: { perHostPerMinute: 100 },
    };
    await check("PUT", "/v1/tools/{name}", "/v1/tools/search", 201, tool);
    await check("PUT", "/v1/tools/{name}", "/v1/tools/search", 200, { ...tool, permission: "approval" });
    await check("GET", "/v1/tools", "/v1/tools", 200);
    await check("GET", "/v1/tools/{name}", "/v1/tools/search", 200);
    await check("PUT", "/v1/tools/{name}", "/v1/tools/recall", 409, tool);
    expect((await call(host, "DELETE", "/v1/tools/search")).status).toBe(204);
    await check("GET", "/v1/tools/{name}", "/v1/tools/search", 404);
  });

  it("a pending approval: the list, the agent's awaiting calls and the decision", async () => {
    await check("POST", "/v1/agents", "/v1/agents", 201, { type: "assistant", key: "gated", config: { tools: ["remember"], permissions: { remember: "approval" } } });
    await check("POST", `${AGENT}/messages`, "/v1/agents/assistant/gated/messages", 202, { content: "remember k = v", wait: false });
    await waitFor(async () => (await call(host, "GET", "/v1/approvals")).body.approvals.length > 0, { message: "a pending approval" });
    const list = await check("GET", "/v1/approvals", "/v1/approvals", 200);
    const callId = list.body.approvals[0].callId;
    const view = await check("GET", AGENT, "/v1/agents/assistant/gated", 200);
    expect(view.body.awaitingApproval).toHaveLength(1);
    expect(view.body.status).toBe("awaiting_approval");
    await check("POST", `${AGENT}/approvals/{callId}`, `/v1/agents/assistant/gated/approvals/${callId}`, 200, { approve: true, reason: "ok" });
    await check("POST", `${AGENT}/approvals/{callId}`, `/v1/agents/assistant/gated/approvals/${callId}`, 404, { approve: true });
  });

  it("MCP servers: declare, list, get, delete and their errors", async () => {
    // A server nobody runs: declared all the same, shown as not connected.
    await check("PUT", "/v1/mcp/{server}", "/v1/mcp/calc", 201, { url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer {{secret:T}}" }, tools: { add: { permission: "approval" } } });
    await check("PUT", "/v1/mcp/{server}", "/v1/mcp/calc", 200, { url: "http://127.0.0.1:9/mcp" });
    await check("PUT", "/v1/mcp/{server}", "/v1/mcp/calc", 400, { url: "nope" });
    const list = await check("GET", "/v1/mcp", "/v1/mcp", 200);
    expect(list.body.servers[0].status.connected).toBe(false);
    await check("GET", "/v1/mcp/{server}", "/v1/mcp/calc", 200);
    await check("GET", "/v1/mcp/{server}", "/v1/mcp/Bad_Name", 400);
    expect((await call(host, "DELETE", "/v1/mcp/calc")).status).toBe(204);
    await check("GET", "/v1/mcp/{server}", "/v1/mcp/calc", 404);
    await check("DELETE", "/v1/mcp/{server}", "/v1/mcp/calc", 404);
  });

  it("errors: 400, 404, 409, 413 and 401", async () => {
    const bad = await check("POST", "/v1/agents", "/v1/agents", 400, { type: "assistant", key: "a.b" });
    expect(bad.body.error.details.field).toBe("key");
    await check("GET", AGENT, "/v1/agents/assistant/a%20b", 400);
    await check("GET", "/v1/agents", "/v1/agents?limit=0", 400);
    await check("POST", `${AGENT}/messages`, "/v1/agents/assistant/nobody/messages", 404, { content: "hi" });
    await check("GET", AGENT, "/v1/agents/assistant/nobody", 404);
    await check("DELETE", AGENT, "/v1/agents/assistant/nobody", 404);
    await check("POST", "/v1/agents", "/v1/agents", 201, { type: "assistant", key: "twice" });
    await check("POST", "/v1/agents", "/v1/agents", 409, { type: "assistant", key: "twice" });
    await check("POST", `${AGENT}/messages`, "/v1/agents/assistant/twice/messages", 400, { content: "" });
    await check("POST", "/v1/agents", "/v1/agents", 413, { type: "assistant", config: { systemPrompt: "x".repeat(MAX_BODY_BYTES) } });

    const token = "openapi-test-token-0123";
    await using guarded = await startTestHost({ config: { adminToken: token } });
    const denied = await call(guarded, "GET", "/v1/openapi.json");
    expect(denied.status).toBe(401);
    const v = responseValidator("get", "/v1/openapi.json", 401);
    expect(v(denied.body), ajv.errorsText(v.errors)).toBe(true);
    const allowed = await call(guarded, "GET", "/v1/openapi.json", undefined, { authorization: `Bearer ${token}` });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual(doc);
  });
});
