import { afterEach, describe, expect, it } from "vitest";
import type { Transport } from "@colony/actors";
import { ColonyError, MemoryBus, MemoryStoreDriver, UnavailableError, handle, serveRpcs, silentLogger, subjects } from "@colony/actors";
import { ManualClock } from "@colony/actors/testing";
import { DirectoryClient } from "../../src/client/directory-client.ts";
import type { Heartbeat } from "../../src/membership/host-info.ts";
import { MembershipTable } from "../../src/membership/membership-table.ts";
import { leastLoaded } from "../../src/placement/least-loaded.ts";
import { MemoryPlacementRegistry } from "../../src/registry/memory-registry.ts";
import { DirectoryService } from "../../src/service/directory-service.ts";
import { directoryRpcs } from "../../src/service/protocol.ts";

const START = 1_700_000_000_000;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

/** The transport, recording the kind of every request sent through it. */
function counting(t: Transport, kinds: string[]): Transport {
  return {
    publish: (subject, env) => t.publish(subject, env),
    request: (subject, env, timeoutMs) => {
      kinds.push(env.kind);
      return t.request(subject, env, timeoutMs);
    },
    subscribe: (subject, handler, opts) => t.subscribe(subject, handler, opts),
    status: () => t.status(),
    onStatus: (fn) => t.onStatus(fn),
    flush: () => t.flush(),
    close: () => t.close(),
  };
}

function setup() {
  const clock = new ManualClock(START);
  const bus = new MemoryBus();
  const membership = new MembershipTable({ clock });
  const driver = new MemoryStoreDriver();
  const registry = new MemoryPlacementRegistry(driver);
  const hb = (id: string): Heartbeat => ({ id, address: `http://${id}`, agents: 0, load: 0, draining: false, incarnation: `${id}-1`, startedAt: START });
  for (const id of ["h1", "h2"]) membership.observe(hb(id));
  const startDirectory = () => {
    const service = DirectoryService.start({ id: "dir", transport: bus.connect("dir"), registry, membership, strategy: leastLoaded, clock, logger: silentLogger, heartbeatMs: 250, failureTimeoutMs: 2_000 });
    stops.push(() => service.stop());
  };
  const kinds: string[] = [];
  const client = (host: string, log = kinds) => new DirectoryClient({ hostId: host, transport: counting(bus.connect(host), log), clock });
  const agents = async (n: number, prefix = "w") => {
    const ids = Array.from({ length: n }, (_, i) => `assistant/${prefix}${i}`);
    for (const id of ids) await driver.create(id, new Uint8Array([1]));
    return ids;
  };
  return { clock, bus, registry, startDirectory, client, kinds, agents };
}

describe("coalesced directory lookups", () => {
  it("sends the lookups of one turn as one lookupMany, each answered with its own placement", async () => {
    const t = setup();
    t.startDirectory();
    const ids = await t.agents(10);
    const c = t.client("h1");
    const placements = await Promise.all([...ids, ids[0]!].map((id) => c.lookup(id, true)));
    expect(t.kinds).toEqual([directoryRpcs.lookupMany.kind]);
    for (const [i, p] of placements.entries()) {
      const id = [...ids, ids[0]!][i]!;
      expect(p?.agent).toBe(id);
      expect(await t.registry.get(id)).toEqual(p);
    }
    // Spread like single lookups: each decision counted before the next.
    expect(new Set(placements.map((p) => p?.host))).toEqual(new Set(["h1", "h2"]));
    // Answered from the cache now.
    await Promise.all(ids.map((id) => c.lookup(id, true)));
    expect(t.kinds).toHaveLength(1);
  });

  it("keeps a lone lookup a single lookup request", async () => {
    const t = setup();
    t.startDirectory();
    const [id] = await t.agents(1);
    const p = await t.client("h1").lookup(id!, true);
    expect(p?.agent).toBe(id);
    expect(t.kinds).toEqual([directoryRpcs.lookup.kind]);
  });

  it("fails only the lookup of an agent that does not exist", async () => {
    const t = setup();
    t.startDirectory();
    const ids = await t.agents(3);
    const c = t.client("h1");
    const out = await Promise.allSettled([...ids, "assistant/nobody"].map((id) => c.lookup(id, true)));
    expect(out.slice(0, 3).map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    expect(out[3]).toMatchObject({ status: "rejected", reason: { code: "not_found" } });
    expect(t.kinds).toEqual([directoryRpcs.lookupMany.kind]);
  });

  it("places each agent once when two hosts' batches race", async () => {
    const t = setup();
    t.startDirectory();
    const ids = await t.agents(8);
    const [a, b] = [t.client("h1"), t.client("h2")];
    const [fromA, fromB] = await Promise.all([Promise.all(ids.map((id) => a.lookup(id, true))), Promise.all(ids.map((id) => b.lookup(id, true)))]);
    expect(fromA).toEqual(fromB);
    for (const p of fromA) expect(p?.epoch).toBe(1);
  });

  it("sends lookups made while a batch is in flight together in the next", async () => {
    const t = setup();
    t.startDirectory();
    const ids = await t.agents(7);
    const c = t.client("h1");
    const first = c.lookup(ids[0]!, true);
    await new Promise((r) => setImmediate(r)); // the first is out
    const rest = ids.slice(1).map((id) => c.lookup(id, true));
    await Promise.all([first, ...rest]);
    expect(t.kinds).toEqual([directoryRpcs.lookup.kind, directoryRpcs.lookupMany.kind]);
  });

  it("fails every caller of a failed batch with its retryable error", async () => {
    const t = setup();
    const down = new UnavailableError("the registry is unreachable", { retryAfterMs: 250 });
    const sub = serveRpcs(t.bus.connect("dir"), subjects.directory, "directory", [handle(directoryRpcs.lookupMany, () => Promise.reject(down))]);
    stops.push(async () => sub.unsubscribe());
    const ids = await t.agents(4);
    const c = t.client("h1");
    const out = await Promise.allSettled(ids.map((id) => c.lookup(id, true)));
    for (const o of out) {
      expect(o.status).toBe("rejected");
      const e = (o as PromiseRejectedResult).reason;
      expect(e).toBeInstanceOf(ColonyError);
      expect(e).toMatchObject({ code: "unavailable", action: "retryable", retryAfterMs: 250 });
    }
    expect(t.kinds).toEqual([directoryRpcs.lookupMany.kind]);
  });

  it("falls back to single lookups on a directory that does not know lookupMany", async () => {
    const t = setup();
    const old = serveRpcs(t.bus.connect("dir"), subjects.directory, "directory", [
      handle(directoryRpcs.lookup, ({ agent }) => ({ placement: { agent, host: "h2", epoch: 1, since: START } })),
    ]);
    stops.push(async () => old.unsubscribe());
    const c = t.client("h1");
    const ids = ["assistant/a1", "assistant/a2", "assistant/a3"];
    const placements = await Promise.all(ids.map((id) => c.lookup(id, true)));
    expect(placements.map((p) => p?.agent)).toEqual(ids);
    expect(t.kinds).toEqual([directoryRpcs.lookupMany.kind, ...ids.map(() => directoryRpcs.lookup.kind)]);
    // Remembered: the next burst goes as single lookups at once.
    await Promise.all(["assistant/b1", "assistant/b2"].map((id) => c.lookup(id, true)));
    expect(t.kinds.slice(4)).toEqual([directoryRpcs.lookup.kind, directoryRpcs.lookup.kind]);
  });
});

