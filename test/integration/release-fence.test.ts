/**
 * Issue 11 case 3: a released placement must not come back to life. A host
 * holding a cached route (owner O, epoch E) forwards a message after O
 * passivated the agent and released its placement; O must not start the
 * agent again at E (with no placement in the directory), since the next
 * lookup elsewhere places it at a new epoch: two activations would run the
 * same turn. Real Redis (store, registry, fences), hosts in this process.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentId } from "@colony/actors";
import { RedisApprovalIndex, RedisStoreDriver } from "@colony/actors";
import { RedisTraceStore } from "@colony/host";
import { RedisPlacementRegistry } from "@colony/directory";
import { call, startTestCluster } from "@colony/host/testing";
import type { HostNode } from "../../packages/host/src/node.ts";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

let redis: RedisServer;
const clients: Redis[] = [];
const client = () => {
  const r = new Redis(redis.url);
  clients.push(r);
  return r;
};
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await redis?.stop();
});

/** Every activation of `id` that runs in the cluster, as host@epoch. */
const activations = (hosts: HostNode[], id: AgentId): string[] =>
  hosts.flatMap((h) => {
    const a = h.catalog.get(id);
    return a ? [`${h.hostId}@${a.epoch}`] : [];
  });

describe("a released placement (real Redis)", () => {
  it("is never activated again through a cached route: one activation, and it is the live placement", async () => {
    const registry = new RedisPlacementRegistry(client(), false);
    const storage = { driver: new RedisStoreDriver(client(), false), registry, approvals: new RedisApprovalIndex(client()), traces: new RedisTraceStore(client()) };
    await using c = await startTestCluster({ hosts: 3, storage, config: { idleMs: 4_000, placement: "prefer-local" } });
    const [h0, h1, h2] = c.hosts as [HostNode, HostNode, HostNode];
    const key = `cached${Math.random().toString(36).slice(2, 8)}`;
    const id = `assistant/${key}` as AgentId;
    const path = `/v1/agents/${id}`;
    expect((await call(h1, "POST", "/v1/agents", { type: "assistant", key })).status).toBe(201);
    // Placed on h1 (prefer-local); h0 learns and caches the route (h1, E).
    expect((await call(h1, "POST", `${path}/messages`, { content: "one" })).status).toBe(200);
    expect((await call(h0, "POST", `${path}/messages`, { content: "two" })).status).toBe(200);
    const first = (await registry.get(id))!;
    expect(first.host).toBe(h1.hostId);

    // h1 passivates the agent and releases its placement.
    await waitFor(async () => h1.catalog.activeCount() === 0 && (await registry.get(id)) === null, { timeoutMs: 30_000, message: "passivation and release" });

    // h0 still routes to (h1, E).
    expect((await call(h0, "POST", `${path}/messages`, { content: "three" })).status).toBe(200);
    const live = await registry.get(id);
    expect(live, "the activation that ran has a live placement").not.toBeNull();
    expect(activations(c.hosts, id)).toEqual([`${live!.host}@${live!.epoch}`]);

    // Another host asks the directory: it must find that same activation, not place a second one.
    expect((await call(h2, "POST", `${path}/messages`, { content: "four" })).status).toBe(200);
    const after = await registry.get(id);
    expect(after).toEqual(live);
    expect(activations(c.hosts, id)).toEqual([`${live!.host}@${live!.epoch}`]);
    const state = (await call(h2, "GET", path)).body;
    expect(state.turns).toBe(4);
  }, 60_000);
});
