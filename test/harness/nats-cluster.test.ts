import { connect } from "nats";
import { describe, expect, it } from "vitest";
import { startNatsCluster } from "./nats-cluster.ts";
import { portIsFree } from "./servers.ts";
import { waitFor } from "./wait.ts";

describe("the NATS cluster harness", { timeout: 60_000 }, () => {
  it("starts 3 routed nodes, carries messages between them, kills and restarts one, and stops them all", async () => {
    const cluster = await startNatsCluster();
    const a = await connect({ servers: cluster.nodes[0]!.url, name: "on-0" });
    const b = await connect({ servers: cluster.nodes[2]!.url, name: "on-2" });
    try {
      expect(cluster.url([2, 0])).toBe(`${cluster.nodes[2]!.url},${cluster.nodes[0]!.url}`);
      expect((await cluster.clients(0)).map((c) => c.name)).toEqual(["on-0"]);
      const got: string[] = [];
      a.subscribe("hello", { callback: (_e, m) => void got.push(m.string()) });
      await a.flush();
      // Interest crosses the route asynchronously: publish until it arrives.
      await waitFor(() => (b.publish("hello", "from node-2"), got.length > 0), { timeoutMs: 10_000, intervalMs: 50 });

      await cluster.kill(1);
      expect(cluster.nodes[1]!.running).toBe(false);
      await cluster.waitForRoutes();
      await cluster.restart(1);
      expect(cluster.nodes[1]!.running).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await cluster.stop();
    }
    for (const n of cluster.nodes) expect(n.running).toBe(false);
    expect(await portIsFree(cluster.nodes[1]!.clusterPort)).toBe(true);
  });
});
