import { describe, expect, it } from "vitest";
import { call, eventually, startTestCluster } from "../src/testing/index.ts";

describe("GET /v1/cluster/stats", () => {
  it("answers every live host's running totals, from any host, which add up to what the cluster did", async () => {
    await using c = await startTestCluster({ hosts: 2 });
    const [a, b] = c.hosts as [(typeof c.hosts)[0], (typeof c.hosts)[0]];
    for (let i = 0; i < 6; i++) expect((await call(a, "POST", "/v1/agents", { type: "assistant", key: `s${i}` })).status).toBe(201);
    for (let i = 0; i < 6; i++) expect((await call(a, "POST", `/v1/agents/assistant/s${i}/messages`, { content: "hello" })).body.status).toBe("completed");
    const owners = new Set<string>();
    for (let i = 0; i < 6; i++) owners.add((await call(a, "GET", `/v1/agents/assistant/s${i}`)).body.host);
    expect(owners.size).toBe(2); // the turns ran on both hosts

    await eventually(async () => {
      const res = await call(b, "GET", "/v1/cluster/stats");
      expect(res.status).toBe(200);
      const rows = res.body.hosts as { host: string; stats: { turns: { completed: number }; turnSeconds: [string, number][]; activeAgents: number } }[];
      expect(rows.map((r) => r.host).sort()).toEqual([a.hostId, b.hostId].sort());
      expect(rows.reduce((n, r) => n + r.stats.turns.completed, 0)).toBe(6);
      expect(rows.reduce((n, r) => n + r.stats.activeAgents, 0)).toBe(6);
      // Cumulative buckets, ending with +Inf holding every turn of that host.
      for (const r of rows) expect(r.stats.turnSeconds.at(-1)).toEqual(["+Inf", r.stats.turns.completed]);
    });
  });
});
