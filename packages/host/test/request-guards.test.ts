import { request } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import type { HostNode } from "../src/index.ts";
import { call, startTestHost } from "../src/testing/index.ts";

let host: HostNode & AsyncDisposable;
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  await host?.shutdown();
});

const spawnBody = JSON.stringify({ type: "assistant", key: "a1" });

describe("request bodies must be application/json", () => {
  it.each([
    ["text/plain (a cross-site simple request)", "text/plain"],
    ["a form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["a look-alike", "application/jsonx"],
  ])("refuses %s with 415 and creates nothing", async (_what, type) => {
    host = await startTestHost();
    const res = await call(host, "POST", "/v1/agents", spawnBody, { "content-type": type });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: "unsupported_media_type", details: { field: "content-type" } });
    expect((await call(host, "GET", "/v1/agents/assistant/a1")).status).toBe(404);
  });

  it("refuses a body with no content type on every body route", async () => {
    host = await startTestHost();
    expect((await call(host, "POST", "/v1/agents", { type: "assistant", key: "a1" })).status).toBe(201);
    for (const path of ["/v1/agents", "/v1/agents/assistant/a1/messages", "/v1/agents/assistant/a1/approvals/toolu_1"]) {
      const res = await host.app.request(path, { method: "POST", body: new Blob([spawnBody]), headers: { "content-length": String(spawnBody.length) } });
      expect(res.status, path).toBe(415);
    }
  });

  it("takes application/json with a charset, in any case, and a POST with no body at all", async () => {
    host = await startTestHost();
    expect((await call(host, "POST", "/v1/agents", spawnBody, { "content-type": "Application/JSON; charset=utf-8" })).status).toBe(201);
    const resume = await host.app.request("/v1/agents/assistant/a1/resume", { method: "POST" });
    expect(resume.status).toBe(409); // reached the route: the agent is not suspended
  });
});

describe("token-less mode refuses cross-site requests", () => {
  it.each([["https://evil.example"], ["http://127.0.0.1.evil.example:8080"], ["null"], ["not a url"]])("refuses Origin %s with 403 before anything runs", async (origin) => {
    host = await startTestHost();
    const res = await call(host, "POST", "/v1/agents", spawnBody, { origin });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    expect((await call(host, "GET", "/v1/agents/assistant/a1", undefined, { origin })).status).toBe(403);
    expect((await call(host, "GET", "/v1/agents/assistant/a1")).status).toBe(404);
  });

  it.each([["http://localhost:3000"], ["http://127.0.0.1:8080"], ["http://[::1]:8080"], ["http://colony.internal:8080"]])(
    "lets Origin %s through (loopback, or the host itself) and requests with no Origin",
    async (origin) => {
      host = await startTestHost();
      const res = await call(host, "POST", "/v1/agents", spawnBody, { origin, host: "colony.internal:8080" });
      expect(res.status).toBe(201);
    },
  );

  it("with an admin token, the token decides, not the Origin", async () => {
    host = await startTestHost({ config: { adminToken: "s3cret-token-123" } });
    const res = await call(host, "POST", "/v1/agents", spawnBody, { origin: "https://console.example", authorization: "Bearer s3cret-token-123" });
    expect(res.status).toBe(201);
  });
});

describe("a wrong method", () => {
  it("answers 405 with Allow naming the methods the path takes, and 404 only for a path no route takes", async () => {
    host = await startTestHost();
    const cases: [string, string, string][] = [
      ["PUT", "/v1/agents", "GET, HEAD, POST"],
      ["PATCH", "/v1/agents/assistant/a1", "DELETE, GET, HEAD"],
      ["GET", "/v1/agents/assistant/a1/resume", "POST"],
      ["DELETE", "/v1/types/researcher", "GET, HEAD, PUT"],
      ["POST", "/healthz", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await host.app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow"), `${method} ${path}`).toBe(allow);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("method_not_allowed");
      expect(body.error.message).toContain(allow);
    }
    const missing = await host.app.request("/v1/nothing-here", { method: "GET" });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("allow")).toBeNull();
    // A wrong method creates nothing.
    expect((await call(host, "GET", "/v1/agents/assistant/a1")).status).toBe(404);
  });
});

/** The host's API on a real Node server: the guards and the message route read Node's parsed headers and body there, not a web Request. */
async function overSocket(node: HostNode): Promise<(method: string, path: string, headers: Record<string, string>, body?: string) => Promise<{ status: number; body: any }>> {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: node.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve()) as Server;
  });
  const port = (server!.address() as AddressInfo).port;
  return (method, path, headers, body) =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method, path, headers: { ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) } }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      });
      req.on("error", reject);
      req.end(body);
    });
}

describe("the same answers over a socket", () => {
  it("refuses a non-JSON body and a foreign Origin, takes the host's own Origin", async () => {
    host = await startTestHost();
    const send = await overSocket(host);
    const json = { "content-type": "application/json" };
    expect((await send("POST", "/v1/agents", { "content-type": "text/plain" }, spawnBody)).status).toBe(415);
    expect((await send("POST", "/v1/agents", { ...json, origin: "https://evil.example" }, spawnBody)).status).toBe(403);
    expect((await send("GET", "/v1/agents/assistant/a1", {})).status).toBe(404);
    expect((await send("POST", "/v1/agents", { ...json, origin: "http://colony.internal:8080", host: "colony.internal:8080" }, spawnBody)).status).toBe(201);
  });

  it("validates a message's path, then its body, on the message route", async () => {
    host = await startTestHost();
    const send = await overSocket(host);
    const json = { "content-type": "application/json" };
    expect((await send("POST", "/v1/agents", json, spawnBody)).status).toBe(201);
    const badKey = await send("POST", "/v1/agents/assistant/bad%20key/messages", json, "not json");
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.details).toEqual({ field: "key" });
    const cases: [string, string, string][] = [
      ["", "body: a JSON object is required", "body"],
      ["{not json", "body: not valid JSON", "body"],
      [JSON.stringify({ content: "hi", extra: 1 }), 'body: unknown field "extra"', "extra"],
      [JSON.stringify({ content: 5 }), "body: content:", "content"],
    ];
    for (const [body, message, field] of cases) {
      const res = await send("POST", "/v1/agents/assistant/a1/messages", json, body);
      expect(res.status, body).toBe(400);
      expect(res.body.error.message, body).toContain(message);
      expect(res.body.error.details, body).toEqual({ field });
    }
    // None of those reached the agent; a good one does, with its traceparent.
    const ok = await send("POST", "/v1/agents/assistant/a1/messages", { ...json, traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }, JSON.stringify({ content: "hello" }));
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe("completed");
    expect((await call(host, "GET", "/v1/agents/assistant/a1")).body.turns).toBe(1);
    const trace = await call(host, "GET", "/v1/agents/assistant/a1/trace");
    expect(trace.body.entries.some((e: { traceId?: string }) => e.traceId === "0af7651916cd43dd8448eb211c80319c")).toBe(true);
  });
});
