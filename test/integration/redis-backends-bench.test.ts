/**
 * BENCH (not in the default run: BENCH_REDIS=1): the store driver's durable
 * send (an append, what a 202 waits for) on one redis-server and on a Redis
 * Cluster, with and without WAIT 1: p50/p99 latency one at a time, and
 * throughput with 32 in flight.
 */
import { claim } from "../../packages/actors/src/testing/claim.ts";
import { describe, it } from "vitest";
import { RedisStoreDriver, connectRedis, newMessageId, silentLogger } from "@colony/actors";
import { startRedisCluster, startRedisSentinel } from "../harness/redis-cluster.ts";
import { startRedis } from "../harness/servers.ts";

const N = 2_000;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;

async function measure(url: string, wait: boolean): Promise<string> {
  const driver = new RedisStoreDriver(connectRedis(url, silentLogger, "bench"), true, wait ? { replicas: 1, timeoutMs: 1_000 } : undefined);
  const agents = Array.from({ length: 32 }, (_, i) => `bench/a${i}-${Math.random().toString(36).slice(2, 8)}`);
  for (let t = 0; ; t++) {
    try {
      for (const a of agents) await driver.create(a, new Uint8Array(64));
      break;
    } catch (e) {
      if (t > 50) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const epochs = await Promise.all(agents.map((a) => claim(driver, a)));
  const payload = new Uint8Array(300);
  const lat: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    await driver.append(agents[i % 32]!, { epoch: epochs[i % 32]!, messageId: newMessageId(), payload });
    lat.push(performance.now() - t);
  }
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    agents.map(async (a, k) => {
      while (next++ < N) await driver.append(a, { epoch: epochs[k]!, messageId: newMessageId(), payload });
    }),
  );
  const rate = Math.round(N / ((performance.now() - t0) / 1000));
  await driver.close();
  return `p50 ${pct(lat, 0.5).toFixed(2)} ms, p99 ${pct(lat, 0.99).toFixed(2)} ms, ${rate} sends/s at 32 in flight`;
}

describe.runIf(process.env.BENCH_REDIS === "1")("durable sends by Redis backend", () => {
  it("measures", { timeout: 600_000 }, async () => {
    const single = await startRedis({ useEnv: false });
    const rc = await startRedisCluster();
    const sentinel = await startRedisSentinel();
    try {
      const rows: string[] = [];
      rows.push(`one redis-server (no replica)   : ${await measure(single.url, false)}`);
      rows.push(`Redis Cluster 3+3, no WAIT      : ${await measure(rc.url, false)}`);
      rows.push(`Redis Cluster 3+3, WAIT 1       : ${await measure(rc.url, true)}`);
      rows.push(`Sentinel 1+1, no WAIT           : ${await measure(sentinel.url, false)}`);
      rows.push(`Sentinel 1+1, WAIT 1            : ${await measure(sentinel.url, true)}`);
      console.log(rows.join("\n"));
    } finally {
      await Promise.all([single.stop(), rc.stop(), sentinel.stop()]);
    }
  });
});
