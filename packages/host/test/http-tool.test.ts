/**
 * HTTP tools, one call at a time: the declaration's checks, and the executor
 * against a real local HTTP service (node:http) through the ToolRegistry, as
 * an agent's turn calls it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentId, MessageId, ToolContext } from "@colony/actors";
import { ToolRegistry, ValidationError, initialState, resolveConfig } from "@colony/actors";
import type { HttpToolBodyInput, HttpToolDeclaration } from "../src/tools/http-tool-declaration.ts";
import { parseHttpToolBody } from "../src/tools/http-tool-declaration.ts";
import { httpTool } from "../src/tools/http-tool.ts";
import { secretsFrom } from "../src/tools/secrets.ts";
import type { HttpService } from "../../../test/harness/http-service.ts";
import { hang, json, startHttpService } from "../../../test/harness/http-service.ts";
import { closedPort } from "../../../test/harness/cli.ts";

const weatherSchema = {
  type: "object",
  properties: { city: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1, maximum: 7 }, units: { type: "string", enum: ["metric", "imperial"] } },
  required: ["city"],
  additionalProperties: false,
};

function body(url: string, http: Partial<HttpToolBodyInput["http"]> = {}, extra: Partial<HttpToolBodyInput> = {}): HttpToolBodyInput {
  return { description: "Weather forecast for a city.", inputSchema: weatherSchema, http: { method: "GET", url, ...http }, ...extra };
}

function declare(input: HttpToolBodyInput, name = "weather"): HttpToolDeclaration {
  return { name, ...parseHttpToolBody(input), updatedAt: 1 };
}

function context(toolUseId = "toolu_1"): ToolContext {
  return {
    agentId: "assistant/k1" as AgentId,
    messageId: "m1" as MessageId,
    toolUseId,
    idempotencyKey: `assistant/k1:m1:${toolUseId}`,
    memory: { get: () => undefined, set: () => undefined },
    signal: new AbortController().signal,
    agent: initialState("assistant/k1" as AgentId, "assistant" as never, "k1" as never, resolveConfig({}, {}), 0),
  };
}

const SECRET = "sk-live-7d1f0c2a9b";
const noSleep = async () => undefined;

/** One registry with the declared tool, as a host has it. */
function registryWith(decl: HttpToolDeclaration, secrets: Record<string, string> = {}) {
  const tool = httpTool(decl, { secrets: secretsFrom(secrets), sleep: noSleep });
  const registry = new ToolRegistry();
  registry.addSource({ get: (n) => (n === decl.name ? (tool as never) : undefined), names: () => [decl.name] });
  return { registry, call: (input: unknown, toolUseId?: string) => registry.call(decl.name, input, [decl.name], context(toolUseId)) };
}

describe("HTTP tool declarations", () => {
  const reject = (input: unknown, field: string, text?: RegExp) => {
    let thrown: unknown;
    try {
      parseHttpToolBody(input);
    } catch (e) {
      thrown = e;
    }
    expect(thrown, `expected ${field} to be refused`).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).details?.field).toBe(field);
    if (text) expect((thrown as Error).message).toMatch(text);
  };

  it("fills the defaults: auto tier, 10 s timeout, 2 retries", () => {
    const d = parseHttpToolBody(body("https://api.example.com/forecast/{city}"));
    expect(d).toMatchObject({ permission: "auto", http: { method: "GET", timeoutMs: 10_000, retries: 2, maxResponseChars: 16_000 } });
  });

  it("refuses what it cannot enforce or where arguments would choose the server", () => {
    reject(body("https://api.example.com/forecast/{town}"), "body.http.url", /\{town\} is not a property/);
    reject(body("https://api.example.com/forecast/{days}"), "body.http.url", /must list it in "required"/);
    reject(body("https://{city}.example.com/forecast"), "body.http.url", /not the scheme, host or port/);
    reject(body("ftp://api.example.com/{city}"), "body.http.url", /http:\/\/ or https:\/\//);
    reject(body("not a url {city}"), "body.http.url");
    reject({ ...body("https://a.example/{city}"), inputSchema: { type: "string" } }, "body.inputSchema.type");
    reject({ ...body("https://a.example/x"), inputSchema: { type: "object", properties: { a: { $ref: "#/nowhere" } } } }, "body.inputSchema", /zod can enforce/);
    reject(body("https://a.example/{city}", { method: "TRACE" as never }), "body.http.method");
    reject(body("https://a.example/{city}", { timeoutMs: 50 }), "body.http.timeoutMs");
    reject(body("https://a.example/{city}", { retries: 9 }), "body.http.retries");
    reject(body("https://a.example/{city}", { headers: { "Idempotency-Key": "x" } }), "body.http.headers.Idempotency-Key");
    reject(body("https://a.example/{city}", { headers: { authorization: "Bearer {{secret:lower}}" } }), "body.http.headers.authorization", /secret name/);
    reject(body("https://a.example/{city}", { body: "arguments" }), "body.http.body");
    reject({ ...body("https://a.example/{city}"), permission: "sometimes" }, "body.permission");
    reject({ ...body("https://a.example/{city}"), colour: 1 }, "body");
  });
});

describe("HTTP tool calls against a local service", () => {
  let service: HttpService;
  beforeAll(async () => {
    service = await startHttpService();
  });
  afterAll(() => service.close());
  const fresh = () => service.requests.splice(0);

  it("fills the URL from the arguments (encoded), the query from those given, and carries the Idempotency-Key", async () => {
    fresh();
    const { call } = registryWith(declare(body(`${service.url}/forecast/{city}`, { query: { d: "{days}", u: "{units}", v: "2" } })));
    const out = await call({ city: "São Paulo/{{secret:KEY}}", days: 3 });
    expect(out).toMatchObject({ outcome: "ok", details: { status: 200, attempts: 1, idempotencyKey: "assistant/k1:m1:toolu_1" } });
    const [req] = fresh();
    expect(req!.url).toBe(`/forecast/${encodeURIComponent("São Paulo/{{secret:KEY}}")}?d=3&v=2`);
    expect(req!.headers["idempotency-key"]).toBe("assistant/k1:m1:toolu_1");
    expect(req!.method).toBe("GET");
    expect(req!.body).toBe("");
  });

  it("sends the arguments as JSON, or a body template with the arguments' own JSON values", async () => {
    fresh();
    const post = registryWith(declare(body(`${service.url}/alerts`, { method: "POST" })));
    await post.call({ city: "Oslo", days: 2 });
    const tmpl = registryWith(declare(body(`${service.url}/alerts`, { method: "PUT", body: { template: { where: { name: "{city}" }, span: "{days}", note: "for {city}", missing: "{units}", fixed: [1, true] } } })));
    await tmpl.call({ city: "Oslo", days: 2 });
    const [a, b] = fresh();
    expect(a).toMatchObject({ method: "POST", headers: { "content-type": "application/json" } });
    expect(JSON.parse(a!.body)).toEqual({ city: "Oslo", days: 2 });
    expect(b!.method).toBe("PUT");
    expect(JSON.parse(b!.body)).toEqual({ where: { name: "Oslo" }, span: 2, note: "for Oslo", fixed: [1, true] });
  });

  it("refuses a bad argument as a tool error the model sees; the service is not called", async () => {
    fresh();
    const { call } = registryWith(declare(body(`${service.url}/forecast/{city}`)));
    const out = await call({ city: "Oslo", days: 30 });
    expect(out).toMatchObject({ isError: true, outcome: "invalid" });
    expect(out.content).toMatch(/invalid arguments for weather: days: .*<=7/);
    expect((await call({ days: 2 })).content).toMatch(/city/);
    expect((await call({ city: "Oslo", extra: 1 })).outcome).toBe("invalid");
    expect(service.requests).toHaveLength(0);
  });

  it("retries a 5xx answer with the same Idempotency-Key, and says how many attempts it took", async () => {
    fresh();
    service.respond(json(503, { error: "busy" }), json(502, { error: "gateway" }), json(200, { temp: 21 }));
    const { call } = registryWith(declare(body(`${service.url}/forecast/{city}`)));
    const out = await call({ city: "Oslo" }, "toolu_r");
    expect(out).toMatchObject({ outcome: "ok", content: '{"temp":21}', details: { status: 200, attempts: 3 } });
    const keys = fresh().map((r) => r.headers["idempotency-key"]);
    expect(keys).toEqual(["assistant/k1:m1:toolu_r", "assistant/k1:m1:toolu_r", "assistant/k1:m1:toolu_r"]);
  });

  it("gives up after the retries with the last status; never retries a 4xx", async () => {
    fresh();
    service.respond(json(500, "a"), json(500, "b"));
    const once = registryWith(declare(body(`${service.url}/forecast/{city}`, { retries: 1 })));
    const failed = await once.call({ city: "Oslo" });
    expect(failed).toMatchObject({ isError: true, outcome: "error", details: { status: 500, attempts: 2 } });
    expect(failed.content).toMatch(/weather failed after 2 attempts: HTTP 500/);
    expect(fresh()).toHaveLength(2);
    service.respond(json(404, { error: "no such city" }));
    const missing = await once.call({ city: "Atlantis" });
    expect(missing).toMatchObject({ isError: true, details: { status: 404, attempts: 1 } });
    expect(missing.content).toBe('HTTP 404: {"error":"no such city"}');
    expect(fresh()).toHaveLength(1);
  });

  it("times out an attempt that gets no answer, and retries it", async () => {
    fresh();
    service.respond(hang, json(200, { temp: 3 }));
    const { call } = registryWith(declare(body(`${service.url}/forecast/{city}`, { timeoutMs: 300, retries: 1 })));
    const started = Date.now();
    const out = await call({ city: "Oslo" });
    expect(out).toMatchObject({ outcome: "ok", details: { attempts: 2, status: 200 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    service.respond(hang, hang);
    const slow = await call({ city: "Oslo" });
    expect(slow).toMatchObject({ isError: true, details: { attempts: 2 } });
    expect(slow.content).toMatch(/failed after 2 attempts: no answer within 300 ms/);
    expect(new Set(fresh().map((r) => r.headers["idempotency-key"])).size).toBe(1);
  });

  it("retries a connection that is refused, then says it could not reach the service", async () => {
    const port = await closedPort();
    const { call } = registryWith(declare(body(`http://127.0.0.1:${port}/forecast/{city}`, { retries: 2 })));
    const out = await call({ city: "Oslo" });
    expect(out).toMatchObject({ isError: true, details: { attempts: 3 } });
    expect(out.content).toMatch(/failed after 3 attempts: could not reach the service: .*ECONNREFUSED/);
  });

  it("resolves {{secret:NAME}} in headers and URL on the host, and masks it in results and details", async () => {
    fresh();
    service.respond((req, res) => {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end(`token ${req.headers.authorization} refused for ${req.url}`);
    });
    const decl = declare(body(`${service.url}/forecast/{city}?key={{secret:WEATHER_KEY}}`, { headers: { authorization: "Bearer {{secret:WEATHER_KEY}}" } }));
    const { call } = registryWith(decl, { WEATHER_KEY: SECRET });
    const out = await call({ city: "Oslo" });
    const [req] = fresh();
    expect(req!.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(req!.url).toBe(`/forecast/Oslo?key=${SECRET}`);
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out.content).toBe("HTTP 401: token Bearer [secret] refused for /forecast/Oslo?key=[secret]");
    expect(out.details!.url).toBe(`${service.url}/forecast/Oslo?key={{secret:WEATHER_KEY}}`);
    expect(JSON.stringify(decl)).not.toContain(SECRET);
  });

  it("never resolves a secret reference an argument carries (a model cannot ask for a secret)", async () => {
    fresh();
    const decl = declare(body(`${service.url}/alerts`, { method: "POST", headers: { "x-city": "{city}", authorization: "{{secret:WEATHER_KEY}}" }, body: { template: { note: "about {city}" } } }));
    const { call } = registryWith(decl, { WEATHER_KEY: SECRET });
    await call({ city: "{{secret:WEATHER_KEY}}" });
    const [req] = fresh();
    expect(req!.headers["x-city"]).toBe("{{secret:WEATHER_KEY}}");
    expect(JSON.parse(req!.body)).toEqual({ note: "about {{secret:WEATHER_KEY}}" });
    expect(req!.headers.authorization).toBe(SECRET);
  });

  it("a secret the platform refuses as a header value is masked in the error; the service is not called", async () => {
    fresh();
    const { call } = registryWith(declare(body(`${service.url}/forecast/{city}`, { headers: { authorization: "Bearer {{secret:BROKEN}}" } })), { BROKEN: `${SECRET}\nx` });
    const out = await call({ city: "Oslo" });
    expect(out).toMatchObject({ isError: true, details: { attempts: 0 } });
    expect(out.content).toMatch(/could not build the request: .*\[secret\]/s);
    expect(out.content).not.toContain(SECRET);
    expect(service.requests).toHaveLength(0);
  });

  it("answers a missing secret with a tool error naming it; the service is not called", async () => {
    fresh();
    const { call } = registryWith(declare(body(`${service.url}/forecast/{city}`, { headers: { "x-api-key": "{{secret:NOT_SET}}" } })));
    const out = await call({ city: "Oslo" });
    expect(out).toMatchObject({ isError: true, details: { attempts: 0 } });
    expect(out.content).toMatch(/secret NOT_SET is not available on this host: set COLONY_SECRET_NOT_SET/);
    expect(service.requests).toHaveLength(0);
  });

  it("truncates a long answer to maxResponseChars", async () => {
    service.respond((_req, res) => void res.end("x".repeat(50_000)));
    const { call } = registryWith(declare(body(`${service.url}/forecast/{city}`, { maxResponseChars: 1000 })));
    const out = await call({ city: "Oslo" });
    expect(out.content).toBe(`${"x".repeat(1000)}… (truncated at 1000 characters)`);
    fresh();
  });
});
