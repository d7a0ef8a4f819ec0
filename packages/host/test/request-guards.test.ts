import { afterEach, describe, expect, it } from "vitest";
import type { HostNode } from "../src/index.ts";
import { call, startTestHost } from "../src/testing/index.ts";

let host: HostNode & AsyncDisposable;
afterEach(async () => {
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
