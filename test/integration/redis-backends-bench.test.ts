/**
 * BENCH (not in the default run: BENCH_REDIS=1): the store driver's durable
 * send (an append, what a 202 waits for) on one redis-server, a Redis
 * Cluster and a Sentinel set, with and without WAIT 1: p50/p99 latency one at
 * a time, and throughput with 32 in flight. The backends take turns, round
 * after round, so a busy moment of the machine falls on all of them; each row
 * gives medians over the rounds and its throughput as a ratio to the single
 * server's in the same rounds.
 */
import { claim } from "../../packages/actors/src/testing/claim.ts";
import { describe, it } from "vitest";
import type { AgentId } from "@colony/actors";
import { RedisStoreDriver, connectRedis, newMessageId, silentLogger } from "@colony/actors";
import { startRedisCluster, startRedisSentinel } from "../harness/redis-cluster.ts";
import { startRedis } from "../harness/servers.ts";

const ROUNDS = 5;
const N = 2_000;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;
const median = (xs: number[]) => pct(xs, 0.5);

interface Backend {
  name: string;
  driver: RedisStoreDriver;
  agents: AgentId[];
  epochs: number[];
  p50: number[];
  p99: number[];
  rate: number[];
}

async function prepare(name: string, url: string, wait: boolean): Promise<Backend> {
  const driver = new RedisStoreDriver(connectRedis(url, silentLogger, "bench"), true, wait ? { replicas: 1, timeoutMs: 1_000 } : undefined);
  const agents = Array.from({ length: 32 }, (_, i) => `bench/a${i}-${Math.random().toString(36).slice(2, 8)}` as AgentId);
  for (let t = 0; ; t++) {
    try {
      for (const a of agents) await driver.create(a, new Uint8Array(64));
      break;
    } catch (e) {
      // A fresh cluster may still be settling its slots.
      if (t > 50) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const epochs = await Promise.all(agents.map((a) => claim(driver, a)));
  return { name, driver, agents, epochs, p50: [], p99: [], rate: [] };
}

async function round(b: Backend): Promise<void> {
  const payload = new Uint8Array(300);
  const send = (k: number) => b.driver.append(b.agents[k]!, { epoch: b.epochs[k]!, messageId: newMessageId(), payload });
  const lat: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await send(i % 32);
    lat.push(performance.now() - t);
  }
  b.p50.push(pct(lat, 0.5));
  b.p99.push(pct(lat, 0.99));
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    b.agents.map(async (_, k) => {
      while (next++ < N) await send(k);
    }),
  );
  b.rate.push(N / ((performance.now() - t0) / 1000));
}

describe.runIf(process.env.BENCH_REDIS === "1")("durable sends by Redis backend", () => {
  it("measures", { timeout: 900_000 }, async () => {
    const single = await startRedis({ useEnv: false });
    const rc = await startRedisCluster();
    const sentinel = await startRedisSentinel();
    const backends: Backend[] = [];
    try {
      backends.push(
        await prepare("one redis-server (no replica)", single.url, false),
        await prepare("Redis Cluster 3+3, no WAIT", rc.url, false),
        await prepare("Redis Cluster 3+3, WAIT 1", rc.url, true),
        await prepare("Sentinel 1+1, no WAIT", sentinel.url, false),
        await prepare("Sentinel 1+1, WAIT 1", sentinel.url, true),
      );
      for (let r = 0; r < ROUNDS; r++) {
        // Each round in a different order, so no backend always runs first (warm-up) or last.
        for (let i = 0; i < backends.length; i++) await round(backends[(i + r) % backends.length]!);
      }
      const base = backends[0]!;
      const rows = backends.map((b) => {
        const ratio = median(b.rate.map((rate, r) => rate / base.rate[r]!));
        return `${b.name.padEnd(31)}: p50 ${median(b.p50).toFixed(2)} ms, p99 ${median(b.p99).toFixed(2)} ms, ${Math.round(median(b.rate))} sends/s at 32 in flight (${ratio.toFixed(2)}× one server, same rounds)`;
      });
      console.log(`medians over ${ROUNDS} interleaved rounds\n${rows.join("\n")}`);
    } finally {
      await Promise.all(backends.map((b) => b.driver.close()));
      await Promise.all([single.stop(), rc.stop(), sentinel.stop()]);
    }
  });
});
