/**
 * The TypeStore contract (operators' agent type defaults), held against the
 * in-memory store (colony dev) and the Redis one (colony host), the latter
 * against a real redis-server started by the harness: two clients over one
 * server see each other's writes, as two hosts do.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TypeStore } from "@colony/host";
import { MemoryTypeStore, RedisTypeStore } from "@colony/host";
import { startRedis } from "../harness/servers.ts";
import { redisBackends, stopRedisBackends } from "../harness/redis-backends.ts";

interface Target {
  /** Two callers over the same backing. */
  open(): Promise<[TypeStore, TypeStore]>;
  close(): Promise<void>;
}

function typeStoreContract(name: string, target: Target): void {
  describe(`TypeStore contract: ${name}`, () => {
    let a: TypeStore;
    let b: TypeStore;
    beforeAll(async () => {
      [a, b] = await target.open();
    });
    afterAll(() => target.close());

    it("answers null for a type never put, and an empty list", async () => {
      expect(await a.get("nobody")).toBeNull();
      expect(await b.list()).toEqual([]);
    });

    it("stores a type's defaults, seen by every caller; a later put replaces them whole", async () => {
      await a.put({ type: "researcher", config: { systemPrompt: "You research.", limits: { tokenBudget: 10 } }, updatedAt: 1 });
      expect(await b.get("researcher")).toEqual({ type: "researcher", config: { systemPrompt: "You research.", limits: { tokenBudget: 10 } }, updatedAt: 1 });
      await b.put({ type: "researcher", config: { tools: ["recall"] }, updatedAt: 2 });
      expect(await a.get("researcher")).toEqual({ type: "researcher", config: { tools: ["recall"] }, updatedAt: 2 });
    });

    it("lists every type in name order", async () => {
      await b.put({ type: "analyst", config: {}, updatedAt: 3 });
      expect((await a.list()).map((e) => e.type)).toEqual(["analyst", "researcher"]);
    });

    it("hands out copies: changing one does not change the store", async () => {
      const got = (await a.get("analyst"))!;
      got.config.systemPrompt = "changed";
      expect((await b.get("analyst"))!.config).toEqual({});
    });
  });
}

typeStoreContract("memory", {
  async open() {
    const store = new MemoryTypeStore();
    return [store, store];
  },
  async close() {},
});

afterAll(() => stopRedisBackends());
for (const backend of redisBackends()) {
  typeStoreContract(backend.name, {
    async open() {
      return [new RedisTypeStore(await backend.client()), new RedisTypeStore(await backend.client())];
    },
    async close() {},
  });
}

describe("RedisTypeStore", () => {
  it("skips an entry that does not parse instead of trusting it", async () => {
    const local = await startRedis();
    const redis = new Redis(local.url);
    try {
      await redis.hset(RedisTypeStore.KEY, "broken", "{not json", "odd", JSON.stringify({ type: "odd", config: { colour: 1 }, updatedAt: 1 }));
      const store = new RedisTypeStore(redis);
      expect(await store.get("broken")).toBeNull();
      expect(await store.list()).toEqual([]);
    } finally {
      redis.disconnect();
      await local[Symbol.asyncDispose]();
    }
  });
});
