import { http } from "../test/harness/colony-process.ts";
import { startProcessCluster } from "../test/harness/cluster.ts";
import type { Row } from "./stats.ts";
import { fmt, latency } from "./stats.ts";

/**
 * Where one cross-host message's milliseconds go (BENCH_TRACE=1): hosts run
 * with COLONY_MESSAGE_TIMING=1 and answer each message's stages as a
 * Server-Timing header (the owner's stages prefixed `owner.`). The median of
 * each stage's share over sequential messages, next to the end-to-end time
 * the client measured; "outside the stages" is HTTP in and out of host A
 * (parse, JSON, socket) that no mark covers.
 */
export async function messageTrace(opts: { messages: number }): Promise<Row[]> {
  await using c = await startProcessCluster({ hosts: 2, env: { COLONY_PLACEMENT: "prefer-local", COLONY_MESSAGE_TIMING: "1" },
    // BENCH_PROFILE_DIR: the hosts write CPU profiles there when they stop.
    ...(process.env.BENCH_PROFILE_DIR ? { hostNodeArgs: ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] } : {}) });
  const [a, b] = [...c.hosts.keys()] as [string, string];
  const perStage = new Map<string, number[]>();
  const totals: number[] = [];
  const outside: number[] = [];
  for (let i = 0; i < opts.messages + 50; i++) {
    const key = `trace${Math.floor(i / 50)}`;
    if (i % 50 === 0) {
      await http(c.url(a), "POST", "/v1/agents", { type: "assistant", key });
      await http(c.url(b), "POST", `/v1/agents/assistant/${key}/messages`, { content: "placed on B" });
    }
    const t0 = performance.now();
    const res = await fetch(`${c.url(a)}/v1/agents/assistant/${key}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content: `ping ${i}` }) });
    await res.text();
    const total = performance.now() - t0;
    if (i < 50) continue; // warm-up
    const header = res.headers.get("server-timing") ?? "";
    let sum = 0;
    for (const part of header.split(", ")) {
      const m = /^([^;]+);dur=([\d.]+)$/.exec(part);
      if (!m) continue;
      const ms = Number(m[2]);
      sum += ms;
      perStage.set(m[1]!, [...(perStage.get(m[1]!) ?? []), ms * 1000]);
    }
    totals.push(total * 1000);
    outside.push((total - sum) * 1000);
  }
  const health: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    await (await fetch(`${c.url(a)}/healthz`)).text();
    if (i >= 50) health.push((performance.now() - t0) * 1000);
  }
  if (process.env.BENCH_PROFILE_DIR) {
    // A CPU profile is written when the process exits by itself: drain the hosts instead of killing them.
    for (const h of c.hosts.values()) h.signal("SIGTERM");
    await Promise.all([...c.hosts.values()].map((h) => h.exited));
  }
  const rows: Row[] = [];
  const e2e = latency(totals).p50;
  for (const [stage, samples] of perStage) {
    const p50 = latency(samples).p50;
    rows.push({ what: `until ${stage}`, colony: `${fmt(p50, 0)} µs`, baseline: "", ratio: `${fmt((100 * p50) / e2e, 1)}%` });
  }
  const out = latency(outside).p50;
  rows.push({ what: "outside the stages (HTTP on A)", colony: `${fmt(out, 0)} µs`, baseline: "", ratio: `${fmt((100 * out) / e2e, 1)}%` });
  rows.push({ what: "end to end, p50 (client)", colony: `${fmt(e2e, 0)} µs`, baseline: "", ratio: "100%" });
  const bare = latency(health).p50;
  rows.push({ what: "GET /healthz on A, p50 (the HTTP floor)", colony: `${fmt(bare, 0)} µs`, baseline: "", ratio: `${fmt((100 * bare) / e2e, 1)}%` });
  return rows;
}
