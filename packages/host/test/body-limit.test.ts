import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { limitBody } from "../src/admin/body-limit.ts";

const MAX = 1_000;
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A real Node server (limitBody reads the IncomingMessage only there) whose routes answer what they read. */
async function start(): Promise<string> {
  const app = new Hono();
  app.use("*", limitBody({ maxSize: MAX, onError: (c) => c.json({ error: "too large" }, 413) }));
  app.post("/json", async (c) => c.json({ got: await c.req.json(), again: await c.req.text() }));
  app.post("/raw", async (c) => c.text(await c.req.raw.text()));
  app.get("/get", (c) => c.text("ok"));
  // Read by limitBody itself (not Hono's bodyLimit, which leaves the body to the route): the text is cached before the route runs.
  app.post("/cached", (c) => c.text(String("text" in c.req.bodyCache)));
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve()) as Server;
  });
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

/** A body sent chunked (no Content-Length), in pieces of 100 bytes. */
function chunked(text: string): { body: ReadableStream<Uint8Array>; duplex: "half" } {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, (at += 100)));
    },
  });
  return { body, duplex: "half" };
}

describe("limitBody on a Node server", () => {
  it("hands the route the body it read, as JSON, as text and as the raw request's body", async () => {
    const url = await start();
    const body = JSON.stringify({ content: "héllo", n: 1 });
    const res = await fetch(`${url}/json`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: { content: "héllo", n: 1 }, again: body });
    const raw = await fetch(`${url}/raw`, { method: "POST", body: "plain" });
    expect(await raw.text()).toBe("plain");
    expect(await (await fetch(`${url}/cached`, { method: "POST", body: "{}" })).text()).toBe("true");
  });

  it("reads a chunked body up to the limit", async () => {
    const url = await start();
    const body = JSON.stringify({ content: "x".repeat(MAX - 20) });
    const res = await fetch(`${url}/json`, { method: "POST", headers: { "content-type": "application/json" }, ...chunked(body) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ again: body });
  });

  it("answers onError for a declared length over the limit, and for a chunked body that grows past it", async () => {
    const url = await start();
    const declared = await fetch(`${url}/json`, { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(MAX + 1) });
    expect(declared.status).toBe(413);
    const grown = await fetch(`${url}/json`, { method: "POST", headers: { "content-type": "application/json" }, ...chunked("x".repeat(MAX * 3)) });
    expect(grown.status).toBe(413);
  });

  it("leaves a GET alone", async () => {
    const url = await start();
    expect(await (await fetch(`${url}/get`)).text()).toBe("ok");
  });
});
