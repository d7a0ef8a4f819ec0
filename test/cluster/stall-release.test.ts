/**
 * Issue 11 case 4(a): a host frozen past its failure timeout drops its
 * activations when it wakes (the stall self-fence). When the directory did
 * not move them meanwhile, their acknowledged backlogs must still run, with
 * no new message arriving to "poke" them.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { AgentId } from "@colony/actors";
import { AgentStore, RedisStoreDriver, agentKeys } from "@colony/actors";
import { http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";
import { spawnAll, userTexts } from "./helpers.ts";

describe("the stall self-fence", () => {
  it("re-places what it dropped and the directory did not move: the acknowledged backlog runs without a new message", async () => {
    // The directory's failure timeout is long: it never declares the frozen host dead, so nothing moves.
    await using c = await startProcessCluster({ hosts: 1, env: { COLONY_PLACEMENT: "prefer-local", COLONY_FAILURE_TIMEOUT_MS: "30000" } });
    const other = [...c.hosts.keys()][0]!;
    const staller = "staller";
    await c.addHost(staller, { COLONY_FAILURE_TIMEOUT_MS: "800", COLONY_HEARTBEAT_MS: "100", COLONY_STALL_FENCE: "true" });
    await c.waitForMembers([other, staller]);
    const id = "assistant/stalled" as AgentId;
    await spawnAll(c, [id]);
    expect((await http(c.url(staller), "POST", `/v1/agents/${id}/messages`, { content: "warm up" })).status).toBe(200);
    expect((await http(c.url(other), "GET", `/v1/agents/${id}`)).body.host).toBe(staller);
    const backlog = ["slow 4000 busy when frozen", "queued one", "queued two"];
    for (const content of backlog) expect((await http(c.url(staller), "POST", `/v1/agents/${id}/messages`, { content, wait: false })).status).toBe(202);
    await waitFor(async () => (await http(c.url(staller), "GET", `/v1/agents/${id}`)).body.status === "running", { timeoutMs: 15_000, message: "the slow turn to start" });

    const p = c.hosts.get(staller)!;
    p.signal("SIGSTOP");
    await new Promise((r) => setTimeout(r, 2_000));
    p.signal("SIGCONT");
    const woke = Date.now();
    await waitFor(() => p.logs.some((l) => String(l.msg).startsWith("this process was frozen")), { timeoutMs: 10_000, message: "the host to notice its stall" });

    const store = new AgentStore(new RedisStoreDriver(new Redis(c.redis.url)));
    const redis = new Redis(c.redis.url);
    try {
      await waitFor(async () => (await store.readState(id))!.turns === 4 && (await redis.xlen(agentKeys(id).inbox)) === 0, {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: "the backlog to run without a new message",
      });
      console.log(`stall release: backlog done ${Date.now() - woke} ms after the host woke (one 4 s turn included)`);
      expect(userTexts((await store.readState(id))!.messages)).toEqual(["warm up", ...backlog]);
    } finally {
      await store.close();
      redis.disconnect();
    }
  }, 90_000);
});
