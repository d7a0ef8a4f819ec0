/**
 * The McpServerStore contract (declared MCP servers), held against the
 * in-memory store (colony dev) and the Redis one (colony host), the latter
 * against a real redis-server started by the harness: two clients over one
 * server see each other's writes, as two hosts do.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { McpServerStore } from "@colony/host";
import { MemoryMcpServerStore, RedisMcpServerStore } from "@colony/host";
import { startRedis } from "../harness/servers.ts";
import { redisBackends, stopRedisBackends } from "../harness/redis-backends.ts";

interface Target {
  /** Two callers over the same backing. */
  open(): Promise<[McpServerStore, McpServerStore]>;
  close(): Promise<void>;
}

const http = (url: string) => ({ url, headers: { Authorization: "Bearer {{secret:TOKEN}}" }, permission: "auto" as const, tools: {} });

function mcpStoreContract(name: string, target: Target): void {
  describe(`McpServerStore contract: ${name}`, () => {
    let a: McpServerStore;
    let b: McpServerStore;
    beforeAll(async () => {
      [a, b] = await target.open();
    });
    afterAll(() => target.close());

    it("answers null for a server never put, and an empty list", async () => {
      expect(await a.get("nobody")).toBeNull();
      expect(await b.list()).toEqual([]);
    });

    it("stores a declaration as given (secret references unresolved), seen by every caller; a later put replaces it whole", async () => {
      await a.put({ name: "calc", declaration: http("http://127.0.0.1:1/mcp"), updatedAt: 1 });
      expect(await b.get("calc")).toEqual({ name: "calc", declaration: http("http://127.0.0.1:1/mcp"), updatedAt: 1 });
      const stdio = { command: "node", args: ["server.js"], env: {}, permission: "approval" as const, tools: { add: { permission: "auto" as const } } };
      await b.put({ name: "calc", declaration: stdio, updatedAt: 2 });
      expect(await a.get("calc")).toEqual({ name: "calc", declaration: stdio, updatedAt: 2 });
    });

    it("lists every server in name order", async () => {
      await b.put({ name: "billing", declaration: http("https://billing.example/mcp"), updatedAt: 3 });
      expect((await a.list()).map((r) => r.name)).toEqual(["billing", "calc"]);
    });

    it("deletes: true when there was a record, false after", async () => {
      expect(await a.delete("billing")).toBe(true);
      expect(await b.delete("billing")).toBe(false);
      expect(await b.get("billing")).toBeNull();
    });

    it("hands out copies: changing one does not change the store", async () => {
      const got = (await a.get("calc"))!;
      (got.declaration as { args: string[] }).args.push("--evil");
      expect(((await b.get("calc"))!.declaration as { args: string[] }).args).toEqual(["server.js"]);
    });
  });
}

mcpStoreContract("memory", {
  async open() {
    const store = new MemoryMcpServerStore();
    return [store, store];
  },
  async close() {},
});

afterAll(() => stopRedisBackends());
for (const backend of redisBackends()) {
  mcpStoreContract(backend.name, {
    async open() {
      return [new RedisMcpServerStore(await backend.client()), new RedisMcpServerStore(await backend.client())];
    },
    async close() {},
  });
}

describe("RedisMcpServerStore", () => {
  it("skips a record that does not parse instead of trusting it", async () => {
    const local = await startRedis();
    const redis = new Redis(local.url);
    try {
      await redis.hset(RedisMcpServerStore.KEY, "broken", "{not json", "odd", JSON.stringify({ name: "odd", declaration: { url: "file:///etc/passwd" }, updatedAt: 1 }));
      const store = new RedisMcpServerStore(redis);
      expect(await store.get("broken")).toBeNull();
      expect(await store.list()).toEqual([]);
    } finally {
      redis.disconnect();
      await local[Symbol.asyncDispose]();
    }
  });
});
