import { describe, expect, it } from "vitest";
import { MemoryStoreDriver, StaleEpochError } from "@colony/actors";
import { MemoryPlacementRegistry } from "../../src/registry/memory-registry.ts";
import { claim } from "@colony/actors/testing";

const snap = new TextEncoder().encode("s");

async function setup() {
  const store = new MemoryStoreDriver();
  const registry = new MemoryPlacementRegistry(store);
  await store.create("worker/a", snap);
  return { store, registry };
}

describe("MemoryPlacementRegistry", () => {
  it("does the compare-and-set in the calling tick: the fence has moved before the promise is awaited", async () => {
    const { store, registry } = await setup();
    const first = registry.register("worker/a", "h1", { now: 1 });
    const second = registry.register("worker/a", "h2", { now: 2 });
    // Nothing awaited yet, and a stale write is already refused.
    await expect(store.commit("worker/a", { epoch: 0, snapshot: snap })).rejects.toBeInstanceOf(StaleEpochError);
    expect(await store.epoch("worker/a")).toBe(1);
    expect(await first).toEqual({ kind: "placed", placement: { agent: "worker/a", host: "h1", epoch: 1, since: 1 } });
    expect(await second).toEqual({ kind: "existing", placement: { agent: "worker/a", host: "h1", epoch: 1, since: 1 } });
  });

  it("re-decides when the placement changes while it checks whether the old one is still live", async () => {
    const { store, registry } = await setup();
    const p = await registry.register("worker/a", "h1", { now: 1 });
    if (p.kind !== "placed") throw new Error("expected placed");
    // `slow` finds a placement that does not match its replace and goes to read the fence...
    const slow = registry.register("worker/a", "h2", { replace: { host: "h1", epoch: 0 }, now: 2 });
    // ...while `fast` replaces it in the same tick.
    const fast = registry.register("worker/a", "h3", { replace: { host: "h1", epoch: p.placement.epoch }, now: 3 });
    const f = await fast;
    expect(f).toMatchObject({ kind: "placed", placement: { host: "h3", epoch: 2 } });
    expect(await slow).toEqual({ kind: "existing", placement: f.kind === "placed" ? f.placement : null });
    expect(await store.epoch("worker/a")).toBe(2);
  });

  it("replaces a void placement only once when its agent is deleted and re-created under racing registers", async () => {
    const { store, registry } = await setup();
    await registry.register("worker/a", "h1", { now: 1 });
    await store.delete("worker/a");
    await store.create("worker/a", snap);
    const outs = await Promise.all(["h2", "h3", "h4", "h5"].map((h, i) => registry.register("worker/a", h, { now: 10 + i })));
    expect(outs.filter((o) => o.kind === "placed")).toHaveLength(1);
    expect(await store.epoch("worker/a")).toBe(3); // 1 (h1), 2 (delete), 3 (the one winner)
    expect(await registry.agentsOn("h1")).toEqual([]);
  });

  it("answers missing for an agent deleted while a register waited on its fence", async () => {
    const { store, registry } = await setup();
    await registry.register("worker/a", "h1", { now: 1 });
    await claim(store, "worker/a"); // voids the placement
    const pending = registry.register("worker/a", "h2", { now: 2 });
    await store.delete("worker/a");
    expect(await pending).toEqual({ kind: "missing" });
    expect(await registry.get("worker/a")).toBeNull();
  });
});
