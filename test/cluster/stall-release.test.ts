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
import { http, startColony } from "../harness/colony-process.ts";
import { startNats, startRedis } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";
import { userTexts } from "./helpers.ts";

/** A process can take long to start on a loaded machine. */
const START_TIMEOUT_MS = 60_000;

describe("the stall self-fence", () => {
  it("re-places what it dropped and the directory did not move: the acknowledged backlog runs without a new message", async () => {
    // The directory's failure timeout is long: it never declares the frozen host dead, so nothing moves.
    await using redis = await startRedis({ useEnv: false });
    await using nats = await startNats({ useEnv: false });
    const env = { REDIS_URL: redis.url, NATS_URL: nats.url, LOG_LEVEL: "info", COLONY_PLACEMENT: "prefer-local", COLONY_FAILURE_TIMEOUT_MS: "30000" };
    await using directory = await startColony(["directory"], { ...env, COLONY_HOST_ID: "dir-stall" }, START_TIMEOUT_MS);
    await using other = await startColony(["host"], { ...env, COLONY_HOST_ID: "other" }, START_TIMEOUT_MS);
    await using p = await startColony(["host"], { ...env, COLONY_HOST_ID: "staller", COLONY_FAILURE_TIMEOUT_MS: "1500", COLONY_HEARTBEAT_MS: "100", COLONY_STALL_FENCE: "true" }, START_TIMEOUT_MS);
    await waitFor(async () => ((await http(other.url, "GET", "/v1/hosts")).body.hosts as unknown[]).length === 2, { timeoutMs: 15_000, message: "both hosts to join" });
    const id = "assistant/stalled" as AgentId;
    expect((await http(p.url, "POST", "/v1/agents", { type: "assistant", key: "stalled" })).status).toBe(201);
    expect((await http(p.url, "POST", `/v1/agents/${id}/messages`, { content: "warm up" })).status).toBe(200);
    expect((await http(other.url, "GET", `/v1/agents/${id}`)).body.host).toBe("staller");
    const backlog = ["slow 6000 busy when frozen", "queued one", "queued two"];
    for (const content of backlog) expect((await http(p.url, "POST", `/v1/agents/${id}/messages`, { content, wait: false })).status).toBe(202);
    await waitFor(async () => (await http(p.url, "GET", `/v1/agents/${id}`)).body.status === "running", { timeoutMs: 15_000, message: "the slow turn to start" });

    p.signal("SIGSTOP");
    await new Promise((r) => setTimeout(r, 3_000));
    p.signal("SIGCONT");
    const woke = Date.now();
    await waitFor(() => p.logs.some((l) => String(l.msg).startsWith("this process was frozen")), { timeoutMs: 10_000, message: "the host to notice its stall" });

    const store = new AgentStore(new RedisStoreDriver(new Redis(redis.url)));
    const client = new Redis(redis.url);
    try {
      await waitFor(async () => (await store.readState(id))!.turns === 4 && (await client.xlen(agentKeys(id).inbox)) === 0, {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: "the backlog to run without a new message",
      });
      console.log(`stall release: backlog done ${Date.now() - woke} ms after the host woke (one 6 s turn included)`);
      expect(userTexts((await store.readState(id))!.messages)).toEqual(["warm up", ...backlog]);
    } finally {
      await store.close();
      client.disconnect();
    }
  }, 240_000);
});
