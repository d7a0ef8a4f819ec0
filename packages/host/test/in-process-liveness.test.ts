import { describe, expect, it } from "vitest";
import { call, startTestCluster } from "../src/testing/index.ts";

/** Freezes this whole process (directory and hosts alike), as a long synchronous job does. */
function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: nothing else in this process runs meanwhile
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe("an in-process cluster's liveness", () => {
  it("never declares a host of its own process dead when the whole process was blocked", async () => {
    // Heartbeat 50 ms, failure timeout 400 ms (testConfig): each block is 2.5 timeouts long.
    await using c = await startTestCluster({ hosts: 2 });
    for (let i = 0; i < 5; i++) {
      blockEventLoop(1_000);
      // The directory's sweep may run before the heartbeat timer after a block: let it run first.
      await c.directory.service.sweep();
      expect(c.directory.service.hosts().hosts.map((h) => h.status)).toEqual(["alive", "alive"]);
      await tick();
    }
    const spawned = await call(c.hosts[0]!, "POST", "/v1/agents", { type: "assistant", key: "after-blocks" });
    expect(spawned.status).toBe(201);
    expect((await call(c.hosts[1]!, "POST", "/v1/agents/assistant/after-blocks/messages", { content: "hi" })).status).toBe(200);
  });
});
