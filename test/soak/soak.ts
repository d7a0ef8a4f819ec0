/**
 * The fault-injection soak (README "Guarantees", 7): a directory and 3 host
 * processes reaching Redis and NATS through fault proxies, counter agents,
 * clients retrying with idempotency keys, a nemesis, and a checker of every
 * agent's stored history. `npm run soak` runs it from the command line
 * (main.ts); soak.test.ts runs it in CI.
 *
 * Timeline: warm up; fault-free (throughput baseline); random Redis cuts
 * only (throughput under cuts); the nemesis for the rest. The two throughput
 * phases run only when "redis" is among the faults. Then every fault is
 * undone, the clients stop, the cluster gets time to finish what it
 * accepted (nobody pokes it with new messages), and the checker reads every
 * agent from Redis directly (not through the proxy).
 */
import { Redis } from "ioredis";
import { z } from "zod";
import type { AgentId } from "@colony/actors";
import { AgentStore, RedisStoreDriver, agentKeys } from "@colony/actors";
import type { ProcessCluster } from "../harness/cluster.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { seededRandom } from "../harness/fault-proxy.ts";
import { waitFor } from "../harness/wait.ts";
import type { StoredAgent, Violation } from "./checker.ts";
import { checkAll, countByKind } from "./checker.ts";
import { SoakClients } from "./clients.ts";
import type { FaultKind } from "./nemesis.ts";
import { DEFAULT_FAULTS, FAULT_KINDS, Nemesis } from "./nemesis.ts";
import type { SoakReport } from "./report.ts";
import { figures } from "./report.ts";

export interface SoakOptions {
  /** Seconds of load, all phases together. */
  seconds: number;
  faults: FaultKind[];
  seed: number;
  /** Client loops (agents in flight). */
  slots: number;
  log: (line: string) => void;
}

const envSchema = z.object({
  SOAK_S: z.coerce.number().int().min(10).max(24 * 3600).default(60),
  SOAK_FAULTS: z
    .string()
    .default(DEFAULT_FAULTS.join(","))
    .transform((s) => s.split(",").map((k) => k.trim()).filter(Boolean))
    .pipe(z.array(z.enum(FAULT_KINDS))),
  SOAK_SEED: z.coerce.number().int().min(0).optional(),
  SOAK_SLOTS: z.coerce.number().int().min(1).max(500).default(24),
});

/** The soak's settings from SOAK_S, SOAK_FAULTS (comma-separated, "" for none), SOAK_SEED and SOAK_SLOTS. */
export function soakOptionsFromEnv(env: NodeJS.ProcessEnv, log: (line: string) => void): SoakOptions {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith("SOAK_") && v !== undefined && (v !== "" || k === "SOAK_FAULTS")));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`invalid soak setting ${String(i.path[0])}=${JSON.stringify(cleaned[String(i.path[0])] ?? "")}: ${i.message}`);
  }
  const e = parsed.data;
  return { seconds: e.SOAK_S, faults: e.SOAK_FAULTS, seed: e.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31), slots: e.SOAK_SLOTS, log };
}

const FAILURE_TIMEOUT_MS = 2_000;
const DRAIN_MS = 3_000;
/** Random cuts of the throughput phase: about one cut every few hundred Redis requests. */
const CUT_PROBABILITY = 1 / 300;
const QUIESCE_MS = 20_000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const t0 = performance.now();
  const o = { ...options, log: (line: string) => options.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`) };
  const random = seededRandom(o.seed);
  o.log(`soak: ${o.seconds} s, faults ${o.faults.join(",") || "none"}, seed ${o.seed}, ${o.slots} client loops`);
  await using c = await startProcessCluster({
    hosts: 3,
    ownServers: true,
    faultProxies: true,
    startTimeoutMs: 60_000,
    env: { COLONY_FAILURE_TIMEOUT_MS: String(FAILURE_TIMEOUT_MS), COLONY_DRAIN_MS: String(DRAIN_MS), COLONY_WAIT_TIMEOUT_MS: "2000" },
  });
  const clients = new SoakClients(c, { slots: o.slots, rotateEvery: 100, attemptTimeoutMs: 5_000, giveUpMs: 30_000, type: "assistant", tag: String(o.seed % 100_000), random, t0 });
  const nemesis = new Nemesis(c, { kinds: o.faults, random, failureTimeoutMs: FAILURE_TIMEOUT_MS, drainMs: DRAIN_MS, healTimeoutMs: 15_000, log: o.log });
  o.log("cluster up; clients start");
  clients.start();
  try {
    await waitFor(() => clients.ackedCount() >= 2 * o.slots, { timeoutMs: 30_000, message: "the clients to get going" }).catch((e: Error) => {
      throw new Error(`${e.message}; failed attempts so far: ${JSON.stringify(clients.failures)}`);
    });
    const phases = await runPhases(c, nemesis, o);
    o.log("undoing every fault, stopping the clients");
    await nemesis.restoreAll();
    await clients.stop();
    o.log("clients stopped; waiting for the cluster to finish what it accepted");
    const stored = await readQuiet(c, [...clients.sent.keys()], o.log);
    o.log("checking");
    const violations: Violation[] = [...nemesis.violations, ...checkAll(clients.sent, stored)];
    return figures({ options: o, clients, nemesis, phases, violations, proxy: c.redisProxy!.stats() });
  } finally {
    // Also on a failure: no client may go on sending to a cluster being torn down.
    await clients.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fault-free and Redis-cuts phases (when "redis" is a fault), then the nemesis for the rest. */
async function runPhases(c: ProcessCluster, nemesis: Nemesis, o: SoakOptions): Promise<SoakReport["phases"]> {
  const phases: SoakReport["phases"] = {};
  let remaining = o.seconds;
  if (o.faults.includes("redis")) {
    const phaseS = Math.min(15, Math.max(5, Math.round(o.seconds / 6)));
    o.log(`phase: fault-free, ${phaseS} s`);
    let t = performance.now();
    await sleep(phaseS * 1000);
    phases.faultFree = { from: t, to: performance.now() };
    o.log(`phase: random redis cuts, p=${CUT_PROBABILITY.toFixed(4)} per request, ${phaseS} s`);
    c.redisProxy!.setCutProbability(CUT_PROBABILITY);
    t = performance.now();
    await sleep(phaseS * 1000);
    c.redisProxy!.setCutProbability(0);
    phases.redisCuts = { from: t, to: performance.now(), cuts: c.redisProxy!.stats().cuts.random };
    remaining -= 2 * phaseS;
  }
  if (remaining <= 0) return phases;
  if (o.faults.length === 0) {
    await sleep(remaining * 1000);
    return phases;
  }
  o.log(`phase: nemesis, ${remaining} s`);
  const t = performance.now();
  await nemesis.run(t + remaining * 1000);
  phases.nemesis = { from: t, to: performance.now() };
  return phases;
}

/**
 * Waits (without sending anything) until every inbox is empty and no turn is
 * in flight, or QUIESCE_MS passed, then reads each agent's state and inbox
 * length straight from Redis.
 */
async function readQuiet(c: ProcessCluster, ids: string[], log: (line: string) => void): Promise<Map<string, StoredAgent>> {
  const redis = new Redis(c.redis.url);
  const store = new AgentStore(new RedisStoreDriver(redis));
  const read = async (): Promise<Map<string, StoredAgent>> => {
    const out = new Map<string, StoredAgent>();
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids.slice(i, i + 50).map(async (id) => {
          const [state, inboxLength] = await Promise.all([store.readState(id as AgentId), redis.xlen(agentKeys(id).inbox)]);
          out.set(id, { messages: state?.messages ?? null, inboxLength, turnInFlight: state?.turn != null });
        }),
      );
    }
    return out;
  };
  try {
    let last = new Map<string, StoredAgent>();
    const quiet = await waitFor(
      async () => {
        last = await read();
        return [...last.values()].every((a) => a.inboxLength === 0 && !a.turnInFlight);
      },
      { timeoutMs: QUIESCE_MS, intervalMs: 500, message: "every inbox to drain" },
    ).catch(() => false);
    if (!quiet) log(`the cluster did not drain every inbox within ${QUIESCE_MS} ms; checking what is stored`);
    return last;
  } finally {
    await store.close();
  }
}
