import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_PARK_AFTER_MS } from "@colony/actors";
import { http } from "../test/harness/colony-process.ts";
import { startProcessCluster } from "../test/harness/cluster.ts";
import { waitFor } from "../test/harness/wait.ts";
import { Inspector } from "./inspector.ts";
import type { Row } from "./stats.ts";
import { fmt } from "./stats.ts";

/** Creates agents `prefix0`… and activates each with one short message, 32 at a time. */
async function activate(url: string, prefix: string, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < count) {
        const key = `${prefix}${next++}`;
        await http(url, "POST", "/v1/agents", { type: "assistant", key });
        const res = await http(url, "POST", `/v1/agents/assistant/${key}/messages`, { content: "hi" });
        if (res.status !== 200) throw new Error(`message failed: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }),
  );
}

/**
 * Lets the agents just activated go idle for longer than the host keeps an
 * idle agent's nact actor (at most twice the parking delay), so the sample
 * counts idle agents as a host holds them after a while, not mid-message.
 */
const untilParked = () => sleep(3 * DEFAULT_PARK_AFTER_MS);

/** One host and nobody to fail over to: a GC or a heap snapshot that freezes it must not get it presumed dead (and its activations evicted). */
const NO_FAILOVER = { COLONY_SUSPECT_AFTER_MS: "300000", COLONY_FAILURE_TIMEOUT_MS: "600000" };

/** Waits until the host takes messages (the directory counts it live): one agent `key` activated. */
async function ready(url: string, key: string): Promise<void> {
  await waitFor(async () => (await http(url, "POST", "/v1/agents", { type: "assistant", key })).status < 300, { timeoutMs: 30_000, intervalMs: 200 });
  await waitFor(async () => (await http(url, "POST", `/v1/agents/assistant/${key}/messages`, { content: "hi" })).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
}

/**
 * Memory per idle active agent: one host process (agents and traces in
 * Redis, so the host holds only its activations), `agents` agents each
 * activated by one short message and left idle. The host runs with
 * `--inspect`; before each sample the bench forces full GCs through the
 * DevTools protocol, so heap used counts live objects only. RSS is the
 * process's, after the same GCs. With `snapshotDir`, heap snapshots before
 * and after are written there (for attributing the heap by constructor).
 */
export async function memoryPerAgent(opts: { agents: number; snapshotDir?: string }): Promise<Row[]> {
  await using c = await startProcessCluster({ hosts: 1, env: { COLONY_IDLE_MS: "3600000", ...NO_FAILOVER }, hostNodeArgs: ["--inspect=127.0.0.1:0"] });
  const host = [...c.hosts.values()][0]!;
  using inspector = await Inspector.connect(host.stderr());
  const url = c.url();
  await ready(url, "ready");
  // Warm up: code paths compiled, pools and caches filled.
  await activate(url, "warm", 500);
  await untilParked();
  const before = await inspector.memoryAfterGc();
  if (opts.snapshotDir) {
    await inspector.heapSnapshot(`${opts.snapshotDir}/before.heapsnapshot`);
    // The snapshot froze the host long enough for the directory to suspect it.
    await ready(url, "probe");
  }
  await activate(url, "m", opts.agents);
  await untilParked();
  const after = await inspector.memoryAfterGc();
  if (opts.snapshotDir) await inspector.heapSnapshot(`${opts.snapshotDir}/after.heapsnapshot`);
  const context = JSON.stringify((await http(url, "GET", "/v1/agents/assistant/m0/messages")).body.messages).length;
  const heap = (after.heap - before.heap) / opts.agents;
  const rss = (after.rss - before.rss) / opts.agents;
  return [
    { what: `heap per idle active agent after full GC, ${opts.agents} agents`, colony: `${fmt(heap / 1024, 2)} KB`, baseline: `${fmt(context / 1024, 2)} KB context (JSON)`, ratio: `${fmt((heap - context) / 1024, 2)} KB overhead, goal ≤ 4 KB` },
    { what: `RSS per idle active agent after full GC, ${opts.agents} agents`, colony: `${fmt(rss / 1024, 2)} KB`, baseline: `${fmt(after.rss / 2 ** 20, 0)} MB RSS in all`, ratio: "" },
  ];
}
