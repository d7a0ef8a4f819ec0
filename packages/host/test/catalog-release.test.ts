/**
 * The catalog's side of "no activation at an epoch that is not the live
 * placement" (issue 11, cases 3 and 4a): an epoch this host released is
 * never activated here again, even while the release is still on its way;
 * and after a stall, activations dropped with queued work are released.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AgentId, AgentKey, AgentType, HostId } from "@colony/actors";
import {
  AgentNotHereError,
  AgentStore,
  MemoryApprovalIndex,
  MemoryStoreDriver,
  NactRuntime,
  ScriptedModel,
  ToolRegistry,
  initialState,
  newMessageId,
  noopMetrics,
  resolveConfig,
  silentLogger,
} from "@colony/actors";
import { ManualClock, claim } from "@colony/actors/testing";
import { Catalog } from "../src/catalog/catalog.ts";

const runtimes: NactRuntime[] = [];
afterEach(() => runtimes.splice(0).forEach((r) => r.close()));

interface Release {
  id: AgentId;
  epoch: number;
  pending: number;
  done: () => void;
}

async function setup() {
  const store = new AgentStore(new MemoryStoreDriver());
  const id = `assistant/r${Math.random().toString(36).slice(2, 8)}` as AgentId;
  await store.create(initialState(id, "assistant" as AgentType, id.split("/")[1] as AgentKey, resolveConfig({}, {}), 0));
  const runtime = new NactRuntime();
  runtimes.push(runtime);
  const clock = new ManualClock();
  const releases: Release[] = [];
  const catalog = new Catalog({
    hostId: "h" as HostId,
    store,
    model: new ScriptedModel(),
    tools: new ToolRegistry([]),
    runtime,
    clock,
    metrics: noopMetrics,
    logger: silentLogger,
    approvals: new MemoryApprovalIndex(),
    defaultIdleMs: 1_000,
    release: (rid, epoch, pending) => new Promise<void>((done) => releases.push({ id: rid, epoch, pending, done })),
  });
  return { store, id, clock, releases, catalog };
}

describe("Catalog and released epochs", () => {
  it("refuses to start again at an epoch whose release is still in flight, and allows it once the release settled", async () => {
    const { store, id, releases, catalog } = await setup();
    const epoch = await claim(store, id);
    const first = (await catalog.ensure(id, epoch))!;
    await first.stop();
    expect(releases.map((r) => [r.id, r.epoch])).toEqual([[id, epoch]]);

    // The directory may still route here at that epoch until the release lands.
    await expect(catalog.ensure(id, epoch)).rejects.toBeInstanceOf(AgentNotHereError);
    expect(catalog.get(id)).toBeUndefined();

    // Settled (here: failed, so the placement may well still be ours): the store's fence decides again.
    releases[0]!.done();
    await new Promise((r) => setImmediate(r));
    expect((await catalog.ensure(id, epoch))?.epoch).toBe(epoch);
  });

  it("releases the activations a stall dropped with queued work, so it runs without a new message", async () => {
    const { store, id, releases, catalog } = await setup();
    const epoch = await claim(store, id);
    const a = (await catalog.ensure(id, epoch))!;
    // A message accepted, its turn not yet run when the process froze.
    await a.accept({ messageId: newMessageId(), content: "queued", acceptedAt: 0 });
    expect(catalog.evictAll(new AgentNotHereError("*", "h"))).toBe(1);
    expect(a.active).toBe(false);
    expect(releases.map((r) => [r.id, r.epoch, r.pending > 0])).toEqual([[id, epoch, true]]);
    await expect(catalog.ensure(id, epoch)).rejects.toBeInstanceOf(AgentNotHereError);
  });
});
