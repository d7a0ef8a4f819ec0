import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { agentKeys } from "@colony/actors";
import { conversationOf, http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";
import type { Expectation } from "./helpers.ts";
import { expectContexts, pool, spawnAll, userTexts } from "./helpers.ts";

/** Sum of a counter's samples across hosts' /metrics, for the lines matching `filter`. */
async function metricSum(urls: string[], name: string, filter = ""): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split("\n")) if (line.startsWith(name) && line.includes(filter)) sum += Number(line.split(" ").pop());
  }
  return sum;
}

describe("a cluster of real processes: directory + 3 hosts over NATS and Redis", { timeout: 120_000 }, () => {
  it("serves 300 agents through random hosts, each agent's messages in FIFO order, each exactly once", async () => {
    await using c = await startProcessCluster({ hosts: 3 });
    const ids = Array.from({ length: 300 }, (_, i) => `assistant/fifo${i}`);
    await spawnAll(c, ids);
    const perAgent = 4;
    const expected = new Map<string, Expectation>(ids.map((id) => [id, { acked: [], unacked: new Set() }]));
    await pool(ids, 48, async (id) => {
      for (let m = 0; m < perAgent; m++) {
        const content = `${id} #${m}`;
        // Alternate fire-and-forget and waiting sends, each through a random host. A 503 (overloaded
        // machine: a Redis command timed out) is "not acknowledged, safe to retry": retried as a client
        // would, with the same idempotency key, so each message must still be stored exactly once.
        const send = { content, wait: m % 2 === 1, idempotencyKey: `${id}-${m}` };
        let res = await http(c.url(), "POST", `/v1/agents/${id}/messages`, send);
        for (let retry = 0; res.status === 503 && retry < 5; retry++) res = await http(c.url(), "POST", `/v1/agents/${id}/messages`, send);
        expect([200, 202]).toContain(res.status);
        expected.get(id)!.acked.push(content);
      }
    });
    await expectContexts(c, expected);

    // Placement spread the agents over all three hosts.
    const hosts = new Map<string, number>();
    await pool(ids, 16, async (id) => {
      const host = (await http(c.url(), "GET", `/v1/agents/${id}`)).body.host as string | null;
      if (host) hosts.set(host, (hosts.get(host) ?? 0) + 1);
    });
    expect([...hosts.keys()].sort()).toEqual([...c.hosts.keys()].sort());
    for (const n of hosts.values()) expect(n).toBeGreaterThan(30);

    // Nothing is left to run again: every inbox is empty.
    const redis = new Redis(c.redis.url);
    try {
      const lengths = await Promise.all(ids.map((id) => redis.xlen(agentKeys(id).inbox)));
      expect(lengths.every((n) => n === 0)).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it("keeps a single activation when first messages race in through every host, with two directory replicas", async () => {
    await using c = await startProcessCluster({ hosts: 3, directories: 2 });
    const urls = [...c.hosts.values()].map((h) => h.url);
    await spawnAll(c, ["assistant/racer"]);
    const sends = urls.flatMap((url) => Array.from({ length: 5 }, (_, i) => http(url, "POST", "/v1/agents/assistant/racer/messages", { content: `${url} ${i}` })));
    const replies = await Promise.all(sends);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(await metricSum(urls, "colony_agent_activations_total", 'type="assistant"')).toBe(1);
    const state = (await http(urls[0]!, "GET", "/v1/agents/assistant/racer")).body;
    expect(state.turns).toBe(15);
    expect(new Set(userTexts(await conversationOf(urls[0]!, "assistant/racer"))).size).toBe(15);

    // Either replica alone serves: kill one, and new agents are still placed and answered.
    c.directories[0]!.signal("SIGKILL");
    await c.directories[0]!.exited;
    await spawnAll(c, ["assistant/after-replica-loss"]);
    for (const url of urls) expect((await http(url, "POST", "/v1/agents/assistant/after-replica-loss/messages", { content: url })).status).toBe(200);
    expect(await metricSum(urls, "colony_agent_activations_total", 'type="assistant"')).toBe(2);
  });

  it("answers for any agent from any host, and lists the membership", async () => {
    await using c = await startProcessCluster({ hosts: 3 });
    await spawnAll(c, ["assistant/anywhere"]);
    const [a, b, d] = [...c.hosts.keys()];
    await http(c.url(a), "POST", "/v1/agents/assistant/anywhere/messages", { content: "hello" });
    const owner = (await http(c.url(b), "GET", "/v1/agents/assistant/anywhere")).body.host as string;
    expect(c.hosts.has(owner)).toBe(true);
    for (const via of [a, b, d]) {
      const res = await http(c.url(via!), "GET", "/v1/agents/assistant/anywhere");
      expect(res.body).toMatchObject({ host: owner, turns: 1, status: "idle" });
    }
    const hosts = (await http(c.url(d), "GET", "/v1/hosts")).body.hosts as { id: string; address: string; status: string; lastHeartbeat: number }[];
    expect(hosts.map((h) => h.id).sort()).toEqual([a, b, d].sort());
    for (const h of hosts) {
      expect(h.status).toBe("alive");
      expect(h.address).toBe(c.hosts.get(h.id)!.url);
      expect(Date.now() - h.lastHeartbeat).toBeLessThan(5_000);
    }
    // The owner's agent count reaches the membership with its next heartbeat.
    await waitFor(async () => ((await http(c.url(d), "GET", "/v1/hosts")).body.hosts as { id: string; agents: number }[]).find((h) => h.id === owner)?.agents === 1);
  });
});

describe("colony hosts", () => {
  it("lists the membership as a table and as JSON", { timeout: 60_000 }, async () => {
    await using c = await startProcessCluster({ hosts: 2 });
    const { execFile } = await import("node:child_process");
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, ["packages/host/bin/colony.js", ...args], { env: { PATH: process.env.PATH, COLONY_URL: c.url() } }, (err, out) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out }),
        ),
      );
    const plain = await run(["hosts"]);
    expect(plain.code).toBe(0);
    const lines = plain.out.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+ADDRESS\s+STATUS\s+AGENTS\s+LOAD\s+LAST HEARTBEAT$/);
    for (const id of c.hosts.keys()) expect(plain.out).toMatch(new RegExp(`^${id}\\s+http://127\\.0\\.0\\.1:\\d+\\s+alive\\s+\\d+\\s+\\d+\\s+[\\d.]+s ago$`, "m"));
    const json = await run(["hosts", "--json"]);
    expect(JSON.parse(json.out).hosts.map((h: { id: string }) => h.id).sort()).toEqual([...c.hosts.keys()].sort());
  });
});
