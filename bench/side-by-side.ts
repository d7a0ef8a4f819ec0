import { existsSync } from "node:fs";
import path from "node:path";
import { http } from "../test/harness/colony-process.ts";
import { startProcessCluster } from "../test/harness/cluster.ts";
import type { ProcessCluster } from "../test/harness/cluster.ts";
import { KeepAliveClient } from "./http-client.ts";
import { warmUpCrossHost } from "./warm-up.ts";
import type { Row } from "./stats.ts";
import { fmt, latency, timeUs } from "./stats.ts";

/** One tree's cluster: a client on host A, its agents on host B. */
interface Side {
  name: string;
  cluster: ProcessCluster;
  a: string;
  b: string;
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
 * Run it once with the same tree on both sides to see the method's own bias.
 */
export async function sideBySide(opts: { against: string; messages: number; warmup: number }): Promise<Row[]> {
  const bin = path.resolve(opts.against, "packages/host/bin/colony.js");
  if (!existsSync(bin)) throw new Error(`BENCH_AGAINST=${opts.against}: no ${bin} (the root of another Colony checkout, built with npm run build)`);
  const env = { COLONY_PLACEMENT: "prefer-local" };
  await using other = await startProcessCluster({ hosts: 2, env, bin, ownServers: true });
  await using here = await startProcessCluster({ hosts: 2, env, ownServers: true });
  const sides = [side("other", other), side("this", here)];
  try {
    for (const s of sides) await warmUpCrossHost(s.cluster.url(s.a), s.cluster.url(s.b), opts.warmup);
    for (let i = 0; i < opts.messages + 100; i++) {
      const key = `ab${Math.floor(i / 50)}`;
      for (const s of i % 2 ? sides : [...sides].reverse()) {
        // A fresh agent every 50 messages, as the cluster RTT: contexts of 0–100 messages.
        if (i % 50 === 0) {
          await http(s.cluster.url(s.a), "POST", "/v1/agents", { type: "assistant", key });
          await http(s.cluster.url(s.b), "POST", `/v1/agents/assistant/${key}/messages`, { content: "placed on B" });
        }
        const us = await timeUs(async () => {
          const res = await s.client.send("POST", `/v1/agents/assistant/${key}/messages`, { content: `ping ${i}` });
          if (res.status !== 200) throw new Error(`side-by-side message failed (${s.name}): ${res.status} ${res.text}`);
        });
        if (i >= 100) s.samples.push(us);
      }
    }
  } finally {
    for (const s of sides) s.client.close();
  }
  const [o, t] = sides.map((s) => latency(s.samples)) as [ReturnType<typeof latency>, ReturnType<typeof latency>];
  return [
    { what: "cross-host message RTT p50 (HTTP on A → agent on B → reply)", colony: `${fmt(t.p50)} µs this tree`, baseline: `${fmt(o.p50)} µs ${opts.against}`, ratio: `${fmt(t.p50 / o.p50, 3)}×` },
    { what: "cross-host message RTT p99", colony: `${fmt(t.p99)} µs this tree`, baseline: `${fmt(o.p99)} µs ${opts.against}`, ratio: `${fmt(t.p99 / o.p99, 3)}×` },
  ];
}

function side(name: string, cluster: ProcessCluster): Side {
  const [a, b] = [...cluster.hosts.keys()] as [string, string];
  return { name, cluster, a, b, client: new KeepAliveClient(cluster.url(a)), samples: [] };
}
