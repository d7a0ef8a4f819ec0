import { expect } from "vitest";
import type { AgentId } from "@colony/actors";
import { AgentStore, RedisStoreDriver, connectRedis, silentLogger } from "@colony/actors";
import { conversationOf, http } from "../harness/colony-process.ts";
import type { ProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";

export type Msg = { role: string; content: { type: string; text?: string }[] };

/** The user texts of an agent's context, in order. */
export const userTexts = (messages: Msg[]): string[] =>
  messages.filter((m) => m.role === "user" && m.content[0]?.type === "text").map((m) => m.content[0]!.text!);

/** Runs `fn` over items with at most `n` in flight. */
export async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** A POST that reports a transport failure (host down) as status 0 instead of throwing. */
export async function trySend(url: string, id: string, content: string, wait: boolean): Promise<{ status: number; body: any }> {
  try {
    return await http(url, "POST", `/v1/agents/${id}/messages`, { content, wait });
  } catch {
    return { status: 0, body: undefined };
  }
}

export async function spawnAll(c: ProcessCluster, ids: string[]): Promise<void> {
  await pool(ids, 16, async (id) => {
    const [type, key] = id.split("/");
    const res = await http(c.url(), "POST", "/v1/agents", { type, key });
    if (res.status !== 201) throw new Error(`spawn ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  });
}

/** What one agent's context must show: `acked` (in this order, each once); `attempted` may show at most once too. */
export interface Expectation {
  acked: string[];
  /** Sent but not acknowledged (the host died under the request): may or may not have been stored. */
  unacked: Set<string>;
}

export function contextProblem(texts: string[], e: Expectation): string | null {
  if (new Set(texts).size !== texts.length) return `a message appears twice: ${JSON.stringify(texts)}`;
  const stray = texts.filter((t) => !e.unacked.has(t) && !e.acked.includes(t));
  if (stray.length) return `messages nobody sent: ${JSON.stringify(stray)}`;
  const ackedSeen = texts.filter((t) => e.acked.includes(t));
  if (JSON.stringify(ackedSeen) !== JSON.stringify(e.acked)) return `acknowledged ${JSON.stringify(e.acked)} but context has ${JSON.stringify(ackedSeen)}`;
  return null;
}

/**
 * Waits until every agent's context holds each acknowledged message exactly
 * once, in acknowledgement order, and nothing twice.
 */
export async function expectContexts(c: ProcessCluster, expected: Map<string, Expectation>, timeoutMs = 20_000): Promise<void> {
  const pending = new Set(expected.keys());
  let last = "";
  await waitFor(
    async () => {
      await pool([...pending], 16, async (id) => {
        const problem = contextProblem(userTexts(await conversationOf(c.url(), id)), expected.get(id)!);
        if (problem === null) pending.delete(id);
        else last = `${id}: ${problem}`;
      }).catch(() => undefined);
      return pending.size === 0;
    },
    { timeoutMs, intervalMs: 200, message: `every acknowledged message in its agent's context exactly once, in order (${pending.size} left; last: ${last})` },
  );
}

/**
 * Streams numbered messages (`<id> #<n>`) to each of `ids`, one loop per
 * agent, through random live hosts, recording in `expected` what was
 * acknowledged, until `stop()` is called (or no host is left).
 */
export function streamCounters(c: ProcessCluster, ids: string[], expected: Map<string, Expectation>) {
  let running = true;
  let sent = 0;
  // When each acknowledged send started and was answered (performance.now()), for failover times.
  const acks: [number, number][] = [];
  // Answers other than 200/202/503 and a dead host's 0, with their bodies: a fault must not turn into a 500.
  const odd: string[] = [];
  const counters = new Map(ids.map((id) => [id, 0]));
  const loops = ids.map(async (id) => {
    while (running) {
      const n = counters.get(id)!;
      counters.set(id, n + 1);
      const content = `${id} #${n}`;
      const live = c.liveHostIds();
      if (live.length === 0) break;
      const url = c.hosts.get(live[Math.floor(Math.random() * live.length)]!)!.url;
      const startedAt = performance.now();
      const res = await trySend(url, id, content, n % 3 === 0);
      sent++;
      if (res.status === 200 || res.status === 202) {
        expected.get(id)!.acked.push(content);
        acks.push([startedAt, performance.now()]);
      } else expected.get(id)!.unacked.add(content);
      if (![0, 200, 202, 503].includes(res.status)) odd.push(`${res.status} ${JSON.stringify(res.body)}`);
    }
  });
  return {
    sent: () => sent,
    /** Answers that were neither an acknowledgement, a 503 nor a dead host ("<status> <body>"). */
    odd: () => odd,
    /** When the first send started after `t` was acknowledged, if one was. */
    firstAckSentAfter: (t: number): number | undefined => acks.find(([startedAt]) => startedAt > t)?.[1],
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Reads every agent from Redis itself (`url`: any REDIS_URL): each user
 * message once, one turn per message (a message run twice, or a commit
 * applied twice, shows as more turns). Strict: every acknowledged message is
 * there; else returns how many agents miss one.
 */
export async function checkAgents(url: string, ids: string[], expected: Map<string, Expectation>, strict: boolean): Promise<number> {
  const client = connectRedis(url, silentLogger, "test-reader");
  const store = new AgentStore(new RedisStoreDriver(client));
  let lost = 0;
  try {
    // A Cluster client takes commands once it has read the slots, a Sentinel one once a sentinel named the master.
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

/**
 * The Redis failover tests' variants: [name, host env, strict]. By default
 * with COLONY_REDIS_WAIT_REPLICAS=1, where nothing acknowledged may be lost;
 * COLONY_TEST_REDIS_NO_WAIT=1 adds a run on the master's word alone, whose
 * losses are counted, not failed.
 */
export function redisFailoverVariants(): [string, Record<string, string>, boolean][] {
  const variants: [string, Record<string, string>, boolean][] = [["COLONY_REDIS_WAIT_REPLICAS=1", { COLONY_REDIS_WAIT_REPLICAS: "1", COLONY_REDIS_WAIT_TIMEOUT_MS: "1000" }, true]];
  if (process.env.COLONY_TEST_REDIS_NO_WAIT === "1") variants.push(["no WAIT (the master's word)", {}, false]);
  return variants;
}

/** What a Redis failover under counter load measured (ms from the kill). */
export interface FailoverFigures {
  sent: number;
  /** The first send started after the killed process had exited that was acknowledged (undefined if the stream got none before it stopped). */
  firstAckMs: number | undefined;
  /** Every agent answering a wait:true send again. */
  allAnsweringMs: number;
  /** Agents missing an acknowledged message (always 0 when strict: the check fails instead). */
  lost: number;
}

/**
 * The Redis failover scenario of the Redis Cluster and Sentinel process
 * tests: counter-style sends to `ids` through every host, `fault()` (kill a
 * master, wait for its replica's promotion; it resolves with the moment the
 * killed process had exited, performance.now()) mid-stream, then every agent
 * must answer again, the stream go on (answering only 200, 202 or 503), and
 * each agent's stored conversation hold every acknowledged message exactly
 * once with one turn per message (strict: else lost ones are only counted). Logs the hosts' last warnings
 * if it fails.
 */
export async function failoverUnderLoad(c: ProcessCluster, o: { redisUrl: string; ids: string[]; strict: boolean; fault: () => Promise<number> }): Promise<FailoverFigures> {
  const { ids } = o;
  await spawnAll(c, ids);
  const expected = new Map<string, Expectation>(ids.map((id) => [id, { acked: [], unacked: new Set() }]));
  const s = streamCounters(c, ids, expected);
  try {
    await waitFor(() => s.sent() > 100, { timeoutMs: 30_000, message: "the stream to get going" });
    const killedAt = await o.fault();
    // Every agent answers a wait:true send again.
    const answered = await Promise.all(
      ids.map(async (id) => {
        let last = "";
        const answers = async () => {
          const res = await trySend(c.url(), id, `${id} ping`, true);
          last = `${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`;
          return res.status === 200;
        };
        await waitFor(answers, { timeoutMs: 30_000, intervalMs: 100, message: `${id} to answer after the kill` }).catch((e: unknown) => {
          throw new Error(`${String(e)}; its last answer: ${last}`);
        });
        return performance.now() - killedAt;
      }),
    );
    const before = s.sent();
    await waitFor(() => s.sent() > before + 100, { timeoutMs: 30_000, message: "the stream to go on after the failover" });
    await s.stop();
    const firstAck = s.firstAckSentAfter(killedAt);
    for (const id of ids) expected.get(id)!.unacked.add(`${id} ping`);
    // A last acknowledged message per agent: its turn comes after everything accepted before it.
    // (Without it, an activation whose commit failed during the failover leaves accepted entries until its next message.)
    await Promise.all(
      ids.map(async (id) => {
        await waitFor(async () => (await trySend(c.url(), id, `${id} last`, true)).status === 200, { timeoutMs: 30_000, intervalMs: 100, message: `${id} to answer its last message` });
        expected.get(id)!.acked.push(`${id} last`);
      }),
    );
    expect(s.odd(), "answers other than 200, 202 and 503 during the failover").toEqual([]);
    const lost = await checkAgents(o.redisUrl, ids, expected, o.strict);
    if (o.strict) await expectContexts(c, expected, 30_000);
    return { sent: s.sent(), firstAckMs: firstAck === undefined ? undefined : Math.round(firstAck - killedAt), allAnsweringMs: Math.round(Math.max(...answered)), lost };
  } catch (e) {
    // Log levels are names ("warn"), as the hosts write them.
    for (const [id, p] of c.hosts) for (const l of p.logs.filter((l) => ["warn", "error", "fatal"].includes(String(l.level))).slice(-15)) console.log(id, JSON.stringify(l).slice(0, 400));
    throw e;
  } finally {
    await s.stop();
  }
}
