import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostNode } from "../src/index.ts";
import { call, startTestHost } from "../src/testing/index.ts";

/**
 * The routes validate with the schemas they document (@hono/zod-openapi), but
 * answer as the API always has: its own 400 body, word for word, in the same
 * order of checks (path, then query, then body), and the same media types.
 */

let host: HostNode & AsyncDisposable;
beforeAll(async () => {
  host = await startTestHost();
  expect((await call(host, "POST", "/v1/agents", { type: "assistant", key: "v1" })).status).toBe(201);
});
afterAll(async () => {
  await host?.shutdown();
});

const KEY_RULE = 'key must match ^[A-Za-z0-9_-]{1,128}$ (1 to 128 of A-Z a-z 0-9 _ -); got "a b"';

describe("validation answers the API's own 400", () => {
  it("a path parameter: the id grammar's own message and field", async () => {
    const res = await call(host, "GET", "/v1/agents/assistant/a%20b");
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "validation_failed", message: KEY_RULE, details: { field: "key" } } });
    const server = await call(host, "GET", "/v1/mcp/Bad_Name");
    expect(server.body.error).toMatchObject({ code: "validation_failed", details: { field: "server" } });
    expect(server.body.error.message).toMatch(/^server: "Bad_Name" must match/);
  });

  it("a query and a body: prefixed by where, naming the field; unknown fields by name", async () => {
    expect((await call(host, "GET", "/v1/agents?limit=0")).body.error).toEqual({
      code: "validation_failed",
      message: "query: limit: Too small: expected number to be >=1",
      details: { field: "limit" },
    });
    expect((await call(host, "GET", "/v1/agents?colour=red")).body.error).toEqual({ code: "validation_failed", message: 'query: unknown field "colour"', details: { field: "colour" } });
    const empty = await call(host, "POST", "/v1/agents/assistant/v1/messages", { content: "" });
    expect(empty.body.error).toEqual({ code: "validation_failed", message: "body: content: must not be empty", details: { field: "content" } });
  });

  it("an empty or malformed body, with or without a Content-Type", async () => {
    const required = { code: "validation_failed", message: "body: a JSON object is required", details: { field: "body" } };
    expect((await call(host, "POST", "/v1/agents", "")).body.error).toEqual(required);
    expect((await host.app.request("/v1/agents", { method: "POST" })).status).toBe(400);
    expect(await (await host.app.request("/v1/types/assistant", { method: "PUT" })).json()).toEqual({ error: required });
    expect((await call(host, "POST", "/v1/agents", "{not json")).body.error).toEqual({ code: "validation_failed", message: "body: not valid JSON", details: { field: "body" } });
    expect((await call(host, "POST", "/v1/agents", "[]")).body.error.details).toEqual({ field: "body" });
  });

  it("checks the path before the body", async () => {
    const res = await call(host, "POST", "/v1/agents/assistant/a%20b/messages", "");
    expect(res.body.error).toEqual({ code: "validation_failed", message: KEY_RULE, details: { field: "key" } });
  });

  it("takes every application/json the API took before, even those zod-openapi's own gate refuses", async () => {
    for (const [key, type] of [["t1", "application/json;"], ["t2", "application/json ; charset=utf-8"], ["t3", "application/json; foo"]] as const) {
      const res = await call(host, "POST", "/v1/agents", { type: "assistant", key }, { "content-type": type });
      expect(res.status, type).toBe(201);
    }
  });

  it("still answers a wrong method with 405 and Allow", async () => {
    const res = await call(host, "PATCH", "/v1/agents/assistant/v1", {});
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("DELETE, GET, HEAD");
    expect(res.body.error.details.allow).toEqual(["DELETE", "GET", "HEAD"]);
  });
});
