import { existsSync } from "node:fs";
import path from "node:path";
import { startProcessCluster } from "../test/harness/cluster.ts";
import type { ProcessCluster } from "../test/harness/cluster.ts";
import type { CrossHostRoute } from "./cross-host-send.ts";
import { timeCrossHostSend } from "./cross-host-send.ts";
import { DurableLoad } from "./durable-load.ts";
import type { LoadFigures } from "./durable-load.ts";
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
 * Then durable throughput, both clusters loaded at once (see throughput()).
 * Run it once with the same tree on both sides to see the method's own bias.
 */
export async function sideBySide(opts: { against: string; messages: number; warmup: number; loadMessages: number }): Promise<Row[]> {
  const bin = path.resolve(opts.against, "packages/host/bin/colony.js");
  if (!existsSync(bin)) throw new Error(`BENCH_AGAINST=${opts.against}: no ${bin} (the root of another Colony checkout, built with npm run build)`);
  return [...(await roundTrips(bin, opts)), ...(await throughput(bin, opts))];
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
