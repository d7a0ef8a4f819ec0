import { afterEach, describe, expect, it } from "vitest";
import { NotFoundError } from "@colony/actors";
import type { AgentId } from "@colony/actors";
import type { EmbeddedCluster, HostNode } from "../src/index.ts";
import { call, eventually, startTestCluster } from "../src/testing/index.ts";

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

async function waitingAgent(host: HostNode, key: string): Promise<void> {
  const config = { tools: ["remember", "recall"], permissions: { remember: "approval" } };
  expect((await call(host, "POST", "/v1/agents", { type: "assistant", key, config })).status).toBe(201);
  expect((await call(host, "POST", `/v1/agents/assistant/${key}/messages`, { content: "remember door = open", wait: false })).status).toBe(202);
  await eventually(async () => expect((await call(host, "GET", "/v1/approvals")).body.approvals.map((a: { agent: string }) => a.agent)).toContain(`assistant/${key}`));
}

const listed = async (host: HostNode) => (await call(host, "GET", "/v1/approvals")).body.approvals.map((a: { agent: string }) => a.agent) as string[];

describe("the approval index forgets deleted agents", () => {
  it("a DELETE, from the owner or another host, takes the agent's waiting calls off /v1/approvals and leaves the others", async () => {
    cluster = await startTestCluster({ hosts: 2 });
    const [a, b] = cluster.hosts as [HostNode, HostNode];
    await waitingAgent(a, "one");
    await waitingAgent(a, "two");
    await waitingAgent(b, "three");
    expect((await call(b, "DELETE", "/v1/agents/assistant/one")).status).toBe(204);
    expect((await call(a, "DELETE", "/v1/agents/assistant/three")).status).toBe(204);
    expect(await listed(a)).toEqual(["assistant/two"]);
    expect(await listed(b)).toEqual(["assistant/two"]);
  });

  it("an activation fenced after its agent was deleted behind its back (its host could not be told) cleans up too", async () => {
    cluster = await startTestCluster({ hosts: 1 });
    const host = cluster.hosts[0]!;
    await waitingAgent(host, "orphan");
    // The delete reached the store only; the activation learns it when it is fenced.
    expect(await host.store.delete("assistant/orphan" as AgentId)).toBe(true);
    expect(await listed(host)).toEqual(["assistant/orphan"]);
    host.catalog.evict("assistant/orphan" as AgentId, new NotFoundError("deleted"));
    await eventually(async () => expect(await listed(host)).toEqual([]));
  });

  it("an activation fenced by a newer one of a live agent leaves the index alone", async () => {
    cluster = await startTestCluster({ hosts: 1 });
    const host = cluster.hosts[0]!;
    await waitingAgent(host, "alive");
    host.catalog.evict("assistant/alive" as AgentId, new Error("a newer activation owns it"));
    // Give a wrong cleanup every chance to land, then check it did not.
    await host.store.readState("assistant/alive" as AgentId);
    await new Promise((r) => setImmediate(r));
    expect(await listed(host)).toEqual(["assistant/alive"]);
  });
});
