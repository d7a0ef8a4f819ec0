/**
 * `duplicate` means the client sent that message (idempotency key) before
 * (issue 11, case 10): a router repeating its own forward, for the next wait
 * slice or after a timeout, is not the client's duplicate. Real Redis, two hosts.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisApprovalIndex, RedisStoreDriver } from "@colony/actors";
import { RedisTraceStore } from "@colony/host";
import { RedisPlacementRegistry } from "@colony/directory";
import { call, startTestCluster } from "@colony/host/testing";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";

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

describe("a message forwarded to the agent's host", () => {
  it("answers duplicate: false on its first send, even when the router forwards it again for the next wait slice", async () => {
    await using c = await startTestCluster({
      hosts: 2,
      storage: { driver: new RedisStoreDriver(client(), false), registry: new RedisPlacementRegistry(client(), false), approvals: new RedisApprovalIndex(client()), traces: new RedisTraceStore(client()) },
    });
    const [a, b] = c.hosts;
    const key = `fwd${Math.random().toString(36).slice(2, 8)}`;
    const path = `/v1/agents/assistant/${key}`;
    expect((await call(a!, "POST", "/v1/agents", { type: "assistant", key })).status).toBe(201);
    expect((await call(a!, "POST", `${path}/messages`, { content: "hello" })).body.duplicate).toBe(false);
    const owner = (await call(a!, "GET", path)).body.host;
    const other = owner === a!.hostId ? b! : a!;
    // Longer than one forwarded wait slice (2 s): the router forwards the same message twice.
    const slow = await call(other, "POST", `${path}/messages`, { content: "slow 2600 done" });
    expect(slow.status).toBe(200);
    expect(slow.body.reply).toBe("done");
    expect(slow.body.duplicate).toBe(false);
    // A client's retry under the same key is a duplicate, wherever it lands.
    const first = await call(other, "POST", `${path}/messages`, { content: "keyed", idempotencyKey: "k-1" });
    expect(first.body.duplicate).toBe(false);
    const retry = await call(owner === a!.hostId ? a! : b!, "POST", `${path}/messages`, { content: "keyed", idempotencyKey: "k-1" });
    expect(retry.body).toMatchObject({ duplicate: true, messageId: first.body.messageId });
  });
});
