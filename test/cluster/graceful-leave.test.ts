/**
 * Issue 12: a graceful leave (SIGTERM, drained, exit 0) is a leave. Every
 * directory replica logs it as one (a leave request reaches only one replica
 * of the queue group; the host's farewell heartbeat reaches all), none
 * declares the host dead, and `GET /v1/hosts` / `colony hosts` list it
 * `left` with 0 agents as soon as the process has exited.
 */
import { describe, expect, it } from "vitest";
import { colony } from "../harness/cli.ts";
import { http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";

describe("a host stopped with SIGTERM leaves the membership", { timeout: 180_000 }, () => {
  it("is listed left with 0 agents at once by every directory replica, logged as a leave, never declared dead", async () => {
    await using c = await startProcessCluster({ hosts: 2, directories: 2 });
    const [leaving, staying] = [...c.hosts.keys()] as [string, string];
    // Agents on the leaving host, so its last heartbeats count some.
    for (let i = 0; i < 6; i++) expect((await http(c.url(leaving), "POST", "/v1/agents", { type: "assistant", key: `k${i}` })).status).toBe(201);
    for (let i = 0; i < 6; i++) expect((await http(c.url(leaving), "POST", `/v1/agents/assistant/k${i}/messages`, { content: "hi" })).status).toBe(200);
    await waitFor(async () => ((await http(c.url(staying), "GET", "/v1/hosts")).body.hosts as { id: string; agents: number }[]).some((h) => h.id === leaving && h.agents > 0), {
      message: "the leaving host to count its agents",
    });

    c.hosts.get(leaving)!.signal("SIGTERM");
    expect(await c.hosts.get(leaving)!.exited).toBe(0);

    // Replicas answer in turn (a NATS queue group): ask often enough to hear both.
    for (let i = 0; i < 8; i++) {
      const hosts = (await http(c.url(staying), "GET", "/v1/hosts")).body.hosts as { id: string; status: string; agents: number }[];
      expect(hosts.find((h) => h.id === leaving)).toMatchObject({ status: "left", agents: 0 });
    }
    const cli = await colony(["hosts", "--json"], { COLONY_URL: c.url(staying) });
    expect(cli.code).toBe(0);
    expect((JSON.parse(cli.stdout) as { hosts: { id: string; status: string; agents: number }[] }).hosts.find((h) => h.id === leaving)).toMatchObject({ status: "left", agents: 0 });

    const leftIn = (logs: Record<string, unknown>[]) => logs.some((l) => l.msg === "host left the cluster (graceful leave)" && l.host === leaving);
    await waitFor(() => c.directories.every((d) => leftIn(d.logs)), { message: "every directory replica to log the leave" });
    const deaths = c.directories.flatMap((d) => d.logs).filter((l) => l.host === leaving && /dead/.test(String(l.msg)));
    expect(deaths).toEqual([]);
  });
});
