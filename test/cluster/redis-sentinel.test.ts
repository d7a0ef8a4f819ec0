/**
 * Colony on a Redis Sentinel set, with real processes: a directory and two
 * hosts whose REDIS_URL is `redis+sentinel://…?name=colony` (1 master, 2
 * replicas, 3 sentinels), counter-style agents under load, and the master
 * SIGKILLed mid-stream. The sentinels promote a replica and point the other
 * at it; the hosts' Sentinel clients must follow. Every acknowledged message
 * must be in its agent's conversation exactly once, no message run twice,
 * and every agent must answer again within a bound (measured and printed),
 * as in the Redis Cluster test (redis-cluster.test.ts), whose scenario this
 * reuses.
 *
 * Two replicas, so that with COLONY_REDIS_WAIT_REPLICAS=1 the promoted
 * master still has one to confirm its writes (with one, it answers 503 until
 * the killed node is back as its replica). COLONY_TEST_REDIS_NO_WAIT=1 adds a
 * run without WAIT, where loss is possible and only reported.
 *
 * About 25 s (six Redis processes, three colony processes); COLONY_TEST_REDIS_SENTINEL=0 skips it.
 */
import { describe, expect, it } from "vitest";
import { startProcessCluster } from "../harness/cluster.ts";
import { startRedisSentinel } from "../harness/redis-cluster.ts";
import { failoverUnderLoad, redisFailoverVariants } from "./helpers.ts";

const enabled = process.env.COLONY_TEST_REDIS_SENTINEL !== "0";
const variants = redisFailoverVariants();
/** Every agent answers again within this of the kill: down-after (1 s) plus a sentinel election, with room for a loaded machine. */
const ANSWER_BOUND_MS = 20_000;

describe.runIf(enabled).each(variants)("Colony on a Redis Sentinel set, the master killed mid-stream (%s)", { timeout: 150_000 }, (name, env, strict) => {
  it("keeps every acknowledged message exactly once, runs none twice, and answers again within seconds", async () => {
    await using set = await startRedisSentinel({ replicas: 2 });
    await using c = await startProcessCluster({ hosts: 2, backends: { redisUrl: set.url }, env, startTimeoutMs: 40_000 });
    const ids = Array.from({ length: 12 }, (_, i) => `assistant/rs${i}`);
    let fault = "";
    const f = await failoverUnderLoad(c, {
      redisUrl: set.url,
      ids,
      strict,
      async fault() {
        const oldPort = await set.masterPort();
        expect(oldPort).toBe(set.master.port);
        await set.master.kill("SIGKILL");
        const killedAt = performance.now();
        const promoted = await set.waitForPromotion(oldPort, { timeoutMs: 45_000 });
        const promotedMs = Math.round(performance.now() - killedAt);
        // WAIT 1 needs the other replica to follow the new master (the sentinels reconfigure it).
        await set.waitForPromotion(oldPort, { timeoutMs: 45_000, replicasInSync: 1 });
        fault = `master :${oldPort} killed, replica :${promoted.port} promoted after ${promotedMs} ms, the other replica in sync with it after ${Math.round(performance.now() - killedAt)} ms`;
        return killedAt;
      },
    });
    console.log(
      `redis sentinel (${name}): ${f.sent} sends; ${fault}; first acknowledged send started after the kill at ${f.firstAckMs} ms; ` +
        `every agent answering again after ${f.allAnsweringMs} ms` +
        (strict ? "; no acknowledged message lost" : `; agents missing an acknowledged message: ${f.lost}`),
    );
    expect(f.firstAckMs).toBeDefined();
    expect(f.allAnsweringMs).toBeLessThan(ANSWER_BOUND_MS);
  });
});
