import { existsSync } from "node:fs";
import path from "node:path";
import { startProcessCluster } from "../test/harness/cluster.ts";
import type { ProcessCluster } from "../test/harness/cluster.ts";
import type { CrossHostRoute } from "./cross-host-send.ts";
import { timeCrossHostSend } from "./cross-host-send.ts";
import { DurableLoad } from "./durable-load.ts";
import type { LoadFigures } from "./durable-load.ts";
import { timeNewFanout } from "./fanout.ts";
import { KeepAliveClient } from "./http-client.ts";
import { warmUpThrough } from "./warm-up.ts";
import type { Latency, Row } from "./stats.ts";
import { fmt, latency } from "./stats.ts";

/** One tree's cluster: a client on host A, its agents on host B. */
interface Side {
  route: CrossHostRoute;
  client: KeepAliveClient;
  samples: number[];
}

/**
 * This checkout against another (BENCH_AGAINST=<its root>, built), side by
 * side: two clusters (2 hosts each, their own Redis and NATS) on the machine
 * at once, and the cross-host round trip measured on each in turn, message
 * for message, the first alternating. Sequential runs of one tree and then
 * the other differ by more than most changes buy on a shared machine (its
 * speed moves 2–3× within minutes); alternating, both see the same load.
 * Then fan-out the same way (see fanouts()), and durable throughput, both
 * clusters loaded at once (see throughput()). Run it once with the same tree on both sides to see the method's own bias.
 */
export async function sideBySide(opts: { against: string; messages: number; warmup: number; loadMessages: number; fanouts: number }): Promise<Row[]> {
  const bin = path.resolve(opts.against, "packages/host/bin/colony.js");
  if (!existsSync(bin)) throw new Error(`BENCH_AGAINST=${opts.against}: no ${bin} (the root of another Colony checkout, built with npm run build)`);
  return [...(await roundTrips(bin, opts)), ...(await fanouts(bin, opts)), ...(await throughput(bin, opts))];
}

/** The cross-host round trip on each tree in turn, message for message. */
async function roundTrips(bin: string, opts: { against: string; messages: number; warmup: number }): Promise<Row[]> {
  const env = { COLONY_PLACEMENT: "prefer-local" };
  await using other = await startProcessCluster({ hosts: 2, env, bin, ownServers: true });
  await using here = await startProcessCluster({ hosts: 2, env, ownServers: true });
  const sides = [side(other), side(here)];
  try {
    for (const s of sides) await warmUpThrough(s.route.entryUrl, opts.warmup, s.route.ownerUrl);
    for (let i = 0; i < opts.messages + 100; i++) {
      for (const s of i % 2 ? sides : [...sides].reverse()) {
        const us = await timeCrossHostSend(s.client, s.route, i);
        if (i >= 100) s.samples.push(us);
      }
    }
  } finally {
    for (const s of sides) s.client.close();
  }
  const [o, t] = sides.map((s) => latency(s.samples)) as [Latency, Latency];
  return [
    { what: "cross-host message RTT p50 (HTTP on A → agent on B → reply)", colony: `${fmt(t.p50)} µs this tree`, baseline: `${fmt(o.p50)} µs ${opts.against}`, ratio: `${fmt(t.p50 / o.p50, 3)}×` },
    { what: "cross-host message RTT p99", colony: `${fmt(t.p99)} µs this tree`, baseline: `${fmt(o.p99)} µs ${opts.against}`, ratio: `${fmt(t.p99 / o.p99, 3)}×` },
  ];
}

/**
 * Fan-out on each tree in turn, which goes first alternating: 3 hosts each,
 * prefer-local as in the cluster section, a new supervisor's turn
 * delegating 10 subtasks to 10 new workers (created, placed and activated
 * on the supervisor's host, each running one durable turn). A quarter as
 * many fan-outs again run first, untimed, so that both trees' delegation
 * path runs optimized.
 */
async function fanouts(bin: string, opts: { against: string; warmup: number; fanouts: number }): Promise<Row[]> {
  const env = { COLONY_PLACEMENT: "prefer-local" };
  await using other = await startProcessCluster({ hosts: 3, env, bin, ownServers: true });
  await using here = await startProcessCluster({ hosts: 3, env, ownServers: true });
  const sides = [other, here].map((c) => {
    const url = c.url([...c.hosts.keys()][0]!);
    return { url, client: new KeepAliveClient(url, 10), samples: [] as number[] };
  });
  const warm = Math.ceil(opts.fanouts / 4);
  try {
    for (const s of sides) await warmUpThrough(s.url, opts.warmup / 5);
    for (let i = 0; i < opts.fanouts + warm; i++) {
      for (const s of i % 2 ? sides : [...sides].reverse()) {
        const us = await timeNewFanout(s.url, s.client, `abfan${i}`);
        if (i >= warm) s.samples.push(us);
      }
    }
  } finally {
    for (const s of sides) s.client.close();
  }
  const [o, t] = sides.map((s) => latency(s.samples)) as [Latency, Latency];
  const ms = (us: number) => fmt(us / 1000, 1);
  return [
    { what: "fan-out p50: a new supervisor's turn delegating 10 subtasks to 10 new workers", colony: `${ms(t.p50)} ms this tree`, baseline: `${ms(o.p50)} ms ${opts.against}`, ratio: `${fmt(t.p50 / o.p50, 3)}×` },
    // The mean, not p99: a quick run times 100 fan-outs, whose p99 is one outlier.
    { what: "fan-out mean", colony: `${ms(t.mean)} ms this tree`, baseline: `${ms(o.mean)} ms ${opts.against}`, ratio: `${fmt(t.mean / o.mean, 3)}×` },
  ];
}

/**
 * Durable throughput of both trees loaded at once: 3 hosts each (placed as
 * by default), 32 callers on each cluster, two rounds after a warm-up, each
 * round's messages/s and the cluster's CPU per message side by side.
 */
async function throughput(bin: string, opts: { against: string; warmup: number; loadMessages: number }): Promise<Row[]> {
  await using other = await startProcessCluster({ hosts: 3, bin, ownServers: true });
  await using here = await startProcessCluster({ hosts: 3, ownServers: true });
  const loads = await Promise.all([other, here].map((c) => DurableLoad.start(c, { agents: 60, callers: 32, prefix: "tput" })));
  const rows: Row[] = [];
  try {
    await Promise.all(loads.map((l) => l.pump(opts.warmup, "w")));
    for (let round = 1; round <= 2; round++) {
      const [o, t] = (await Promise.all(loads.map((l) => l.pump(opts.loadMessages, `m${round}.`)))) as [LoadFigures, LoadFigures];
      rows.push(
        { what: `durable messages/s, 3 hosts, 32 callers on each cluster at once, round ${round}`, colony: `${fmt(t.rate, 0)}/s this tree`, baseline: `${fmt(o.rate, 0)}/s ${opts.against}`, ratio: `${fmt(t.rate / o.rate, 3)}×` },
        { what: `  CPU per durable message (hosts + directory), round ${round}`, colony: `${fmt(t.cpuPerMessage * 1e6, 0)} µs this tree`, baseline: `${fmt(o.cpuPerMessage * 1e6, 0)} µs ${opts.against}`, ratio: `${fmt(t.cpuPerMessage / o.cpuPerMessage, 3)}×` },
      );
    }
  } finally {
    for (const l of loads) l.close();
  }
  return rows;
}

function side(cluster: ProcessCluster): Side {
  const [a, b] = [...cluster.hosts.keys()] as [string, string];
  return { route: { entryUrl: cluster.url(a), ownerUrl: cluster.url(b), ownerId: b, prefix: "ab" }, client: new KeepAliveClient(cluster.url(a)), samples: [] };
}
