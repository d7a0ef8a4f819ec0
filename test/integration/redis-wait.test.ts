/**
 * COLONY_REDIS_WAIT_REPLICAS in the store driver: a write is acknowledged
 * only once a replica has it. On a server without replicas every write is
 * refused as retryable (503); on a Redis Cluster (one replica per master)
 * writes go through, and the replica holds them.
 */
import { claim } from "../../packages/actors/src/testing/claim.ts";
import { afterAll, describe, expect, it } from "vitest";
import { RedisStoreDriver, UnavailableError, asRedisUnavailable, isRedisUnreachable, newMessageId } from "@colony/actors";
import { redisBackends, stopRedisBackends } from "../harness/redis-backends.ts";

afterAll(() => stopRedisBackends());
const [single, cluster] = redisBackends({ useEnv: false });
const wait = { replicas: 1, timeoutMs: 200 };

describe("RedisStoreDriver with waitReplicas", () => {
  it("refuses a write no replica confirmed, as retryable (503), on a server without replicas", async () => {
    const driver = new RedisStoreDriver(await single!.client(), false, wait);
    const err = await driver.create("waiting/a", new Uint8Array([1])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("NotReplicatedError");
    expect(isRedisUnreachable(err)).toBe(true);
    // What the client reads names replication, not the network.
    const answered = asRedisUnavailable(err);
    expect(answered).toBeInstanceOf(UnavailableError);
    expect((answered as Error).message).toBe("the store's (Redis) write reached 0 of 1 replicas in time (COLONY_REDIS_WAIT_REPLICAS=1); nothing was acknowledged, retry later");
  });

  it("acknowledges writes a replica confirmed, on a Redis Cluster", async () => {
    const driver = new RedisStoreDriver(await cluster!.client(), false, { ...wait, timeoutMs: 5_000 }); // a replica under load may need more than 200 ms
    expect(await driver.create("waiting/b", new Uint8Array([1]))).toBe(true);
    const epoch = await claim(driver, "waiting/b");
    const outcome = await driver.append("waiting/b", { epoch, messageId: newMessageId(), payload: new Uint8Array([2]) });
    expect(outcome).toMatchObject({ kind: "accepted", seq: 1 });
    await driver.commit("waiting/b", { epoch, snapshot: new Uint8Array([3]), processedSeq: 1 });
    expect((await driver.load("waiting/b"))?.inbox).toEqual([]);
  });
});
