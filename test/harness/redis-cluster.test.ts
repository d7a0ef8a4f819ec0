/**
 * The Redis Cluster and Sentinel harness itself: they form, a Colony client
 * (connectRedis) reads and writes through them, and a killed master is
 * replaced by its replica while the client keeps working.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisClient } from "../../packages/actors/src/store/redis-client.ts";
import { connectRedis } from "../../packages/actors/src/store/redis-client.ts";
import { silentLogger } from "../../packages/actors/src/logger.ts";
import type { RedisClusterServer, RedisSentinelSet } from "./redis-cluster.ts";
import { startRedisCluster, startRedisSentinel } from "./redis-cluster.ts";
import { waitFor } from "./wait.ts";

const logger = silentLogger;

describe("the Redis Cluster harness", () => {
  let cluster: RedisClusterServer;
  let client: RedisClient;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = connectRedis(cluster.url, logger, "harness-test");
    await waitFor(() => client.ping().then(() => true), { timeoutMs: 20_000, message: "the cluster client to answer" });
  }, 90_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it("has three masters with a replica each, and a kill of one promotes its replica", async () => {
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    for (const m of masters) expect(await cluster.replicaOf(m)).toBeDefined();
    for (let i = 0; i < 50; i++) await client.set(`k{${i}}`, String(i));
    const victim = masters[0]!;
    const old = (await cluster.topology()).find((n) => n.port === cluster.nodes[victim]!.port)!;
    // Replication is asynchronous: the kill must come after the replica has every key, or they may be lost (by design).
    const [master, replica] = [cluster.nodes[victim]!, cluster.nodes[(await cluster.replicaOf(victim))!]!].map((n) => new Redis(n.port, "127.0.0.1"));
    try {
      await waitFor(async () => (await master!.dbsize()) === (await replica!.dbsize()), { timeoutMs: 20_000, message: "the replica to hold every key of its master" });
    } finally {
      master!.disconnect();
      replica!.disconnect();
    }
    const killedAt = performance.now();
    await cluster.kill(victim);
    const promoted = await cluster.waitForPromotion(old);
    expect(promoted).not.toBe(victim);
    // The client follows the new master: every key readable again (none lost: all were replicated long before).
    await waitFor(async () => (await Promise.all(Array.from({ length: 50 }, (_, i) => client.get(`k{${i}}`)))).every((v, i) => v === String(i)), {
      timeoutMs: 20_000,
      message: "every key to be readable through the client again",
    });
    console.log(`redis cluster: master killed → slots served again after ${Math.round(performance.now() - killedAt)} ms`);
  }, 90_000);
});

// Its waits allow a slow promotion (up to 45 s, then 30 s for the first write): the default 30 s test timeout would cut them short.
describe("the Redis Sentinel harness", { timeout: 120_000 }, () => {
  let set: RedisSentinelSet;
  let client: RedisClient;
  beforeAll(async () => {
    set = await startRedisSentinel();
    client = connectRedis(set.url, logger, "harness-test");
  }, 90_000);
  afterAll(async () => {
    client?.disconnect();
    await set?.stop();
  });

  it("connects through the sentinels and follows them to the promoted replica", async () => {
    await waitFor(() => client.set("k", "v").then(() => true), { timeoutMs: 20_000, message: "a write through the sentinels" });
    await waitFor(async () => (await client.call("WAIT", "1", "1000")) === 1, { timeoutMs: 20_000, message: "the replica to have the write" });
    const killedAt = performance.now();
    await set.master.kill("SIGKILL");
    await waitFor(async () => (await set.masterPort()) === set.replica.port, { timeoutMs: 45_000, message: "the sentinels to promote the replica" });
    await waitFor(() => client.set("k2", "v2").then(() => true, () => false), { timeoutMs: 30_000, message: "a write to the new master" });
    expect(await client.get("k")).toBe("v");
    console.log(`redis sentinel: master killed → writes accepted again after ${Math.round(performance.now() - killedAt)} ms`);
  }, 90_000);
});
