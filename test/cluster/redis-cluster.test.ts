/**
 * Colony on a Redis Cluster, with real processes: hosts and a directory
 * whose REDIS_URL names a 3-master/3-replica cluster, counter-style agents
 * under load, and a master SIGKILLed mid-stream. Its replica is promoted;
 * every acknowledged message must be in its agent's conversation exactly
 * once, no message run twice, and every agent must answer again within a
 * bound (measured and printed).
 *
 * Redis replicates asynchronously, so a write the old master acknowledged
 * may be missing on the promoted replica. With COLONY_REDIS_WAIT_REPLICAS=1
 * nothing is acknowledged before a replica has it, and this test asserts no
 * acknowledged loss. Without it (COLONY_TEST_REDIS_NO_WAIT=1 adds that run),
 * loss is possible and only reported: see README "Guarantees".
 *
 * About 35 s (seven Redis nodes, three colony processes); COLONY_TEST_REDIS_CLUSTER=0 skips it.
 */
import { describe, expect, it } from "vitest";
import type { AgentId } from "@colony/actors";
import { AgentStore, RedisStoreDriver, connectRedis, silentLogger } from "@colony/actors";
import { startProcessCluster } from "../harness/cluster.ts";
import { startRedisCluster } from "../harness/redis-cluster.ts";
import { waitFor } from "../harness/wait.ts";
import type { Expectation } from "./helpers.ts";
import { contextProblem, expectContexts, spawnAll, streamCounters, trySend, userTexts } from "./helpers.ts";

const enabled = process.env.COLONY_TEST_REDIS_CLUSTER !== "0";
const variants: [string, Record<string, string>, boolean][] = [["COLONY_REDIS_WAIT_REPLICAS=1", { COLONY_REDIS_WAIT_REPLICAS: "1", COLONY_REDIS_WAIT_TIMEOUT_MS: "1000" }, true]];
if (process.env.COLONY_TEST_REDIS_NO_WAIT === "1") variants.push(["no WAIT (the master's word)", {}, false]);

describe.runIf(enabled).each(variants)("Colony on a Redis Cluster, a master killed mid-stream (%s)", { timeout: 150_000 }, (name, env, strict) => {
  it("keeps every acknowledged message exactly once, runs none twice, and answers again within seconds", async () => {
    await using rc = await startRedisCluster();
    await using c = await startProcessCluster({ hosts: 2, backends: { redisUrl: rc.url }, env, startTimeoutMs: 40_000 });
    const ids = Array.from({ length: 12 }, (_, i) => `assistant/rc${i}`);
    await spawnAll(c, ids);
    const expected = new Map<string, Expectation>(ids.map((id) => [id, { acked: [], unacked: new Set() }]));
    const s = streamCounters(c, ids, expected);
    try {
      await waitFor(() => s.sent() > 100, { timeoutMs: 30_000, message: "the stream to get going" });
      const victimIndex = (await rc.masters())[0]!;
      const victim = (await rc.topology()).find((n) => n.port === rc.nodes[victimIndex]!.port)!;
      const killedAt = performance.now();
      await rc.kill(victimIndex);
      const promoted = await rc.waitForPromotion(victim);
      const promotedMs = Math.round(performance.now() - killedAt);
      // The promoted master has no replica left: with WAIT 1 its agents answer 503 until one is back; the old master returns as its replica.
      if (strict) {
        await rc.nodes[victimIndex]!.restart();
        await rc.waitOk();
      }
      // Every agent answers a wait:true send again (its own slot may or may not have moved).
      const answered: number[] = [];
      await Promise.all(
        ids.map(async (id) => {
          await waitFor(async () => (await trySend(c.url(), id, `${id} ping`, true)).status === 200, { timeoutMs: 30_000, intervalMs: 100, message: `${id} to answer after the kill` });
          answered.push(performance.now() - killedAt);
        }),
      );
      const failoverMs = Math.round(Math.max(...answered));
      const before = s.sent();
      await waitFor(() => s.sent() > before + 100, { timeoutMs: 30_000, message: "the stream to go on after the failover" });
      await s.stop();
      for (const id of ids) expected.get(id)!.unacked.add(`${id} ping`);
      // A last acknowledged message per agent: its turn comes after everything accepted before it.
      // (Without it, an activation whose commit failed during the failover leaves accepted entries until its next message.)
      await Promise.all(
        ids.map(async (id) => {
          await waitFor(async () => (await trySend(c.url(), id, `${id} last`, true)).status === 200, { timeoutMs: 30_000, intervalMs: 100, message: `${id} to answer its last message` });
          expected.get(id)!.acked.push(`${id} last`);
        }),
      );
      const lost = await checkAgents(rc.url, ids, expected, strict);
      if (strict) await expectContexts(c, expected, 30_000);
      console.log(
        `redis cluster (${name}): ${s.sent()} sends; master :${victim.port} killed, replica :${rc.nodes[promoted]!.port} promoted after ${promotedMs} ms; ` +
          `every agent answering again after ${failoverMs} ms` +
          (strict ? " (the killed node restarted as the new master's replica); no acknowledged message lost" : `; agents missing an acknowledged message: ${lost}`),
      );
      expect(failoverMs).toBeLessThan(20_000);
    } catch (e) {
      for (const [id, p] of c.hosts) for (const l of p.logs.filter((l) => Number(l.level) >= 40).slice(-10)) console.log(id, JSON.stringify(l).slice(0, 300));
      throw e;
    } finally {
      await s.stop();
    }
  });
});

/**
 * Reads every agent from the cluster itself: each user
 * message once, one turn per message (a message run twice, or a commit
 * applied twice, shows as more turns). Strict: every acknowledged message is
 * there; else returns how many agents miss one.
 */
async function checkAgents(url: string, ids: string[], expected: Map<string, Expectation>, strict: boolean): Promise<number> {
  const client = connectRedis(url, silentLogger, "test-reader");
  const store = new AgentStore(new RedisStoreDriver(client));
  let lost = 0;
  try {
    // A Cluster client takes commands once it has read the slots.
    await waitFor(() => client.ping().then(() => true), { timeoutMs: 20_000, message: "the reader to connect" });
    for (const id of ids) {
      // (The inbox may keep an entry whose append was refused with a 503 after Redis applied it, e.g. WAIT
      // timed out: never acknowledged, it runs when the agent is next activated from the store.)
      const state = (await store.readState(id as AgentId))!;
      const texts = userTexts(state.messages);
      expect(new Set(texts).size, `${id}: a message twice`).toBe(texts.length);
      expect(state.turns, `${id}: turns vs messages`).toBe(texts.length);
      const problem = contextProblem(texts, expected.get(id)!);
      if (strict) expect(problem, id).toBeNull();
      else if (problem !== null) lost++;
    }
  } finally {
    await store.close();
  }
  return lost;
}
