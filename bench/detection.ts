import { http } from "../test/harness/colony-process.ts";
import type { ProcessCluster } from "../test/harness/cluster.ts";
import { startProcessCluster } from "../test/harness/cluster.ts";
import type { Row } from "./stats.ts";
import { fmt } from "./stats.ts";

/** A message sent (and resent with the same idempotency key) through `via` until answered; ms from `since`. */
async function answered(c: ProcessCluster, via: string[], id: string, content: string, since: number): Promise<number> {
  for (;;) {
    const url = c.url(via[Math.floor(Math.random() * via.length)]);
    const ok = await fetch(`${url}/v1/agents/${id}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content, wait: true, idempotencyKey: content }),
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (r) => (await r.text(), r.status === 200))
      .catch(() => false);
    if (ok) return performance.now() - since;
  }
}

/** `n` agents first messaged through `host` (prefer-local: they live there). */
async function agentsOn(c: ProcessCluster, host: string, prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `assistant/${prefix}${i}`);
  for (const id of ids) await http(c.url(host), "POST", "/v1/agents", { type: "assistant", key: id.split("/")[1] });
  await Promise.all(ids.map((id) => http(c.url(host), "POST", `/v1/agents/${id}/messages`, { content: "placed" })));
  const mine: string[] = [];
  for (const id of ids) if ((await http(c.url(host), "GET", `/v1/agents/${id}`)).body.host === host) mine.push(id);
  return mine;
}

const statusOf = async (c: ProcessCluster, via: string, id: string) =>
  ((await http(c.url(via), "GET", "/v1/hosts")).body.hosts as { id: string; status: string }[]).find((h) => h.id === id)?.status;

/**
 * Failure detection with real processes and default timing (250 ms
 * heartbeat, probe after 500 ms, 2 s grace): a crash (SIGKILL) and a freeze
 * (SIGSTOP) until every agent of the host answers elsewhere, and a host
 * whose event loop blocks for 1.5 s, which must not be failed over.
 */
export async function detectionBench(opts: { agents: number }): Promise<Row[]> {
  await using c = await startProcessCluster({ hosts: 4, env: { COLONY_PLACEMENT: "prefer-local", COLONY_TEST_BLOCK_ON_SIGUSR2_MS: "1500" } });
  const [crash, freeze, block, other] = [...c.hosts.keys()] as [string, string, string, string];
  const rows: Row[] = [];

  const blocked = await agentsOn(c, block, "blk", opts.agents);
  const p = c.hosts.get(block)!;
  p.signal("SIGUSR2");
  const released = () => p.logs.some((l) => l.msg === "test hook: event loop released");
  while (!released()) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 2_500));
  const declaredDead = c.directories.flatMap((d) => d.logs).some((l) => l.host === block && /declared dead/.test(String(l.msg)));
  let moved = 0;
  for (const id of blocked) if ((await http(c.url(other), "GET", `/v1/agents/${id}`)).body.host !== block) moved++;
  rows.push({ what: `event loop blocked 1.5 s: failed over? (${blocked.length} agents on it)`, colony: declaredDead || moved > 0 ? `YES (${moved} moved)` : "no", baseline: "must be no", ratio: "—" });

  const crashed = await agentsOn(c, crash, "kill", opts.agents);
  const killedAt = performance.now();
  c.hosts.get(crash)!.signal("SIGKILL");
  const crashMs = await Promise.all(crashed.map((id) => answered(c, [freeze, block, other], id, `${id} after kill`, killedAt)));
  rows.push({ what: `SIGKILL → all ${crashed.length} of its agents answering elsewhere`, colony: `${fmt(Math.max(...crashMs), 0)} ms`, baseline: "2000 ms bound", ratio: `${fmt(Math.max(...crashMs) / 2000, 2)}×` });

  const frozen = await agentsOn(c, freeze, "stop", opts.agents);
  const frozenAt = performance.now();
  c.hosts.get(freeze)!.signal("SIGSTOP");
  try {
    const pauseMs = await Promise.all(frozen.map((id) => answered(c, [block, other], id, `${id} during the freeze`, frozenAt)));
    const sorted = [...pauseMs].sort((a, b) => a - b);
    rows.push({ what: `SIGSTOP → all ${frozen.length} of its agents answering elsewhere (median)`, colony: `${fmt(sorted[Math.floor(sorted.length / 2)]!, 0)} ms`, baseline: "3000 ms bound", ratio: "—" });
    rows.push({ what: `SIGSTOP → all ${frozen.length} of its agents answering elsewhere (max)`, colony: `${fmt(sorted.at(-1)!, 0)} ms`, baseline: "3000 ms bound", ratio: `${fmt(sorted.at(-1)! / 3000, 2)}×` });
  } finally {
    c.hosts.get(freeze)!.signal("SIGCONT");
  }
  while ((await statusOf(c, other, freeze)) !== "alive") await new Promise((r) => setTimeout(r, 100));
  return rows;
}
