import { http } from "../test/harness/colony-process.ts";
import { startProcessCluster } from "../test/harness/cluster.ts";
import type { Row } from "./stats.ts";
import { fmt } from "./stats.ts";

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in ${url}/metrics`);
  return Number(m[1]);
}

/**
 * Memory per idle active agent: one host process (agents and traces in
 * Redis, so the host holds only its activations), `agents` agents each
 * activated by one short message and left idle. Read from the host's own
 * /metrics before and after: heap used as reported, so the figure includes
 * garbage not yet collected (an upper bound).
 */
export async function memoryPerAgent(opts: { agents: number }): Promise<Row[]> {
  await using c = await startProcessCluster({ hosts: 1, env: { COLONY_IDLE_MS: "3600000" } });
  const url = c.url();
  const sample = async () => ({ rss: await gauge(url, "process_resident_memory_bytes"), heap: await gauge(url, "nodejs_heap_size_used_bytes") });
  // Warm up: code paths compiled, pools filled.
  for (let i = 0; i < 200; i++) {
    await http(url, "POST", "/v1/agents", { type: "assistant", key: `warm${i}` });
    await http(url, "POST", `/v1/agents/assistant/warm${i}/messages`, { content: "hi" });
  }
  const before = await sample();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < opts.agents) {
        const key = `m${next++}`;
        await http(url, "POST", "/v1/agents", { type: "assistant", key });
        const res = await http(url, "POST", `/v1/agents/assistant/${key}/messages`, { content: "hi" });
        if (res.status !== 200) throw new Error(`message failed: ${res.status}`);
      }
    }),
  );
  const after = await sample();
  const context = JSON.stringify((await http(url, "GET", "/v1/agents/assistant/m0/messages")).body.messages).length;
  const heap = (after.heap - before.heap) / opts.agents;
  const rss = (after.rss - before.rss) / opts.agents;
  return [
    { what: `heap per idle active agent, ${opts.agents} agents`, colony: `${fmt(heap / 1024, 2)} KB`, baseline: `${fmt(context / 1024, 2)} KB context (JSON)`, ratio: `${fmt((heap - context) / 1024, 2)} KB overhead, goal ≤ 4 KB` },
    { what: `RSS per idle active agent, ${opts.agents} agents`, colony: `${fmt(rss / 1024, 2)} KB`, baseline: "", ratio: "" },
  ];
}
