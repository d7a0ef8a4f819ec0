/**
 * The ToolDeclarationStore contract (operators' HTTP tools), held against the
 * in-memory store (colony dev) and the Redis one (colony host), the latter
 * against a real redis-server started by the harness: two clients over one
 * server see each other's writes, as two hosts do.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpToolDeclaration } from "@colony/host";
import type { ToolDeclarationStore } from "@colony/host";
import { MemoryToolDeclarationStore, RedisToolDeclarationStore } from "@colony/host";
import { startRedis } from "../harness/servers.ts";
import { redisBackends, stopRedisBackends } from "../harness/redis-backends.ts";

interface Target {
  open(): Promise<[ToolDeclarationStore, ToolDeclarationStore]>;
  close(): Promise<void>;
}

const decl = (name: string, url: string, updatedAt: number): HttpToolDeclaration => ({
  name,
  description: `${name} tool`,
  inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
  http: { method: "GET", url, headers: { authorization: "Bearer {{secret:API_KEY}}" }, timeoutMs: 1000, retries: 1, maxResponseChars: 1000 },
  permission: "auto",
  updatedAt,
});

function toolStoreContract(name: string, target: Target): void {
  describe(`ToolDeclarationStore contract: ${name}`, () => {
    let a: ToolDeclarationStore;
    let b: ToolDeclarationStore;
    beforeAll(async () => {
      [a, b] = await target.open();
    });
    afterAll(() => target.close());

    it("answers null for a name never put, and an empty list", async () => {
      expect(await a.get("nothing")).toBeNull();
      expect(await b.list()).toEqual([]);
      expect(await a.delete("nothing")).toBe(false);
    });

    it("stores a declaration seen by every caller, says whether it was new; a later put replaces it whole", async () => {
      expect(await a.put(decl("search", "https://a.example/s?q={q}", 1))).toBe(true);
      expect(await b.get("search")).toEqual(decl("search", "https://a.example/s?q={q}", 1));
      const replaced = { ...decl("search", "https://b.example/s?q={q}", 2), rateLimit: { perAgentPerMinute: 5 } };
      expect(await b.put(replaced)).toBe(false);
      expect(await a.get("search")).toEqual(replaced);
    });

    it("lists every declaration in name order and deletes one for every caller", async () => {
      await b.put(decl("alpha", "https://c.example/{q}", 3));
      expect((await a.list()).map((d) => d.name)).toEqual(["alpha", "search"]);
      expect(await a.delete("alpha")).toBe(true);
      expect(await b.get("alpha")).toBeNull();
      expect((await b.list()).map((d) => d.name)).toEqual(["search"]);
    });

    it("hands out copies: changing one does not change the store", async () => {
      const got = (await a.get("search"))!;
      got.http.url = "https://evil.example/";
      expect((await b.get("search"))!.http.url).toBe("https://b.example/s?q={q}");
    });
  });
}

toolStoreContract("memory", {
  async open() {
    const store = new MemoryToolDeclarationStore();
    return [store, store];
  },
  async close() {},
});

afterAll(() => stopRedisBackends());
for (const backend of redisBackends()) {
  toolStoreContract(backend.name, {
    async open() {
      return [new RedisToolDeclarationStore(await backend.client()), new RedisToolDeclarationStore(await backend.client())];
    },
    async close() {},
  });
}

describe("RedisToolDeclarationStore", () => {
  it("skips an entry that does not parse instead of trusting it", async () => {
    const local = await startRedis();
    const redis = new Redis(local.url);
    try {
      await redis.hset(RedisToolDeclarationStore.KEY, "broken", "{not json", "odd", JSON.stringify({ name: "odd", description: "x", updatedAt: 1 }));
      const store = new RedisToolDeclarationStore(redis);
      expect(await store.get("broken")).toBeNull();
      expect(await store.list()).toEqual([]);
    } finally {
      redis.disconnect();
      await local[Symbol.asyncDispose]();
    }
  });
});
