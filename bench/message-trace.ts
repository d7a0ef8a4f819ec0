import { http } from "../test/harness/colony-process.ts";
import { startProcessCluster } from "../test/harness/cluster.ts";
import { KeepAliveClient } from "./http-client.ts";
import { warmUpThrough } from "./warm-up.ts";
import type { Row } from "./stats.ts";
import { fmt, latency } from "./stats.ts";

/** A request through either client: the time it took (µs) and its Server-Timing header. */
type Timed = (method: string, path: string, body?: unknown) => Promise<{ us: number; timing: string }>;

/**
 * Where one cross-host message's milliseconds go (BENCH_TRACE=1): hosts run
 * with COLONY_MESSAGE_TIMING=1 and answer each message's stages as a
 * Server-Timing header (the owner's stages prefixed `owner.`). The median of
 * each stage's share over sequential messages, next to the end-to-end time
 * the client measured; "outside the stages" is HTTP in and out of host A
 * (client, socket, parse, JSON) that no mark covers. The stages come from a
 * keep-alive node:http client; each message alternates with one sent by
 * fetch (undici), whose end to end and /healthz are shown too: the
 * difference is client CPU, not Colony's.
 */
export async function messageTrace(opts: { messages: number; warmup: number }): Promise<Row[]> {
  await using c = await startProcessCluster({ hosts: 2, env: { COLONY_PLACEMENT: "prefer-local", COLONY_MESSAGE_TIMING: "1" },
    // BENCH_PROFILE_DIR: the hosts write CPU profiles there when they stop.
    ...(process.env.BENCH_PROFILE_DIR ? { hostNodeArgs: ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] } : {}) });
  const [a, b] = [...c.hosts.keys()] as [string, string];
  await warmUpThrough(c.url(a), opts.warmup, c.url(b));
  const client = new KeepAliveClient(c.url(a));
  const viaNode: Timed = async (method, path, body) => {
    const t0 = performance.now();
    const res = await client.send(method, path, body);
    return { us: (performance.now() - t0) * 1000, timing: String(res.headers["server-timing"] ?? "") };
  };
  const viaFetch: Timed = async (method, path, body) => {
    const t0 = performance.now();
    const res = await fetch(`${c.url(a)}${path}`, { method, ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) });
    await res.text();
    return { us: (performance.now() - t0) * 1000, timing: res.headers.get("server-timing") ?? "" };
  };
  const perStage = new Map<string, number[]>();
  const totals: number[] = [];
  const outside: number[] = [];
  const fetchTotals: number[] = [];
  for (let i = 0; i < opts.messages + 50; i++) {
    // Two messages per round (one per client): a fresh agent every 25 rounds keeps contexts at 0–100 messages, as before.
    const key = `trace${Math.floor(i / 25)}`;
    if (i % 25 === 0) {
      await http(c.url(a), "POST", "/v1/agents", { type: "assistant", key });
      await http(c.url(b), "POST", `/v1/agents/assistant/${key}/messages`, { content: "placed on B" });
    }
    const path = `/v1/agents/assistant/${key}/messages`;
    const viaFetchFirst = i % 2 === 1;
    const fetched = viaFetchFirst ? await viaFetch("POST", path, { content: `ping ${i}` }) : undefined;
    const { us, timing } = await viaNode("POST", path, { content: `ping ${i}.` });
    const fetchedAfter = viaFetchFirst ? undefined : await viaFetch("POST", path, { content: `ping ${i}` });
    if (i < 50) continue; // warm-up
    fetchTotals.push((fetched ?? fetchedAfter)!.us);
    let sum = 0;
    for (const part of timing.split(", ")) {
      const m = /^([^;]+);dur=([\d.]+)$/.exec(part);
      if (!m) continue;
      const us = Number(m[2]) * 1000;
      sum += us;
      perStage.set(m[1]!, [...(perStage.get(m[1]!) ?? []), us]);
    }
    totals.push(us);
    outside.push(us - sum);
  }
  const health: number[] = [];
  const healthFetch: number[] = [];
  for (let i = 0; i < 300; i++) {
    const [first, second] = i % 2 ? [viaFetch, viaNode] : [viaNode, viaFetch];
    const [x, y] = [await first("GET", "/healthz"), await second("GET", "/healthz")];
    if (i < 50) continue;
    health.push((first === viaNode ? x : y).us);
    healthFetch.push((first === viaNode ? y : x).us);
  }
  client.close();
  if (process.env.BENCH_PROFILE_DIR) {
    // A CPU profile is written when the process exits by itself: drain the hosts instead of killing them.
    for (const h of c.hosts.values()) h.signal("SIGTERM");
    await Promise.all([...c.hosts.values()].map((h) => h.exited));
  }
  const rows: Row[] = [];
  const e2e = latency(totals).p50;
  const share = (us: number) => `${fmt((100 * us) / e2e, 1)}%`;
  for (const [stage, samples] of perStage) {
    const p50 = latency(samples).p50;
    rows.push({ what: `until ${stage}`, colony: `${fmt(p50, 0)} µs`, baseline: "", ratio: share(p50) });
  }
  const out = latency(outside).p50;
  rows.push({ what: "outside the stages (client + HTTP on A)", colony: `${fmt(out, 0)} µs`, baseline: "", ratio: share(out) });
  rows.push({ what: "end to end, p50 (keep-alive node:http client)", colony: `${fmt(e2e, 0)} µs`, baseline: "", ratio: "100%" });
  const bare = latency(health).p50;
  rows.push({ what: "GET /healthz on A, p50 (the HTTP floor, same client)", colony: `${fmt(bare, 0)} µs`, baseline: "", ratio: share(bare) });
  const viaFetchE2e = latency(fetchTotals).p50;
  const bareFetch = latency(healthFetch).p50;
  rows.push({ what: "end to end, p50, fetch (undici) client, interleaved", colony: `${fmt(viaFetchE2e, 0)} µs`, baseline: "", ratio: share(viaFetchE2e) });
  rows.push({ what: "GET /healthz on A, p50, fetch client, interleaved", colony: `${fmt(bareFetch, 0)} µs`, baseline: "", ratio: share(bareFetch) });
  return rows;
}
