import { afterEach, describe, expect, it } from "vitest";
import type { Envelope } from "@colony/actors";
import { MemoryBus, MemoryStoreDriver, UnavailableError, newMessageId, silentLogger, subjects } from "@colony/actors";
import { DirectoryClient } from "../../src/client/directory-client.ts";
import { ManualClock } from "@colony/actors/testing";
import type { Heartbeat } from "../../src/membership/host-info.ts";
import { MembershipTable } from "../../src/membership/membership-table.ts";
import { leastLoaded } from "../../src/placement/least-loaded.ts";
import { MemoryPlacementRegistry } from "../../src/registry/memory-registry.ts";
import { DirectoryService } from "../../src/service/directory-service.ts";
import { MEMBERSHIP_SUBJECT, directoryToHostRpcs, membershipEventSchema } from "../../src/service/protocol.ts";

const START = 1_700_000_000_000;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

/** Lets the bus deliver (it is asynchronous, like NATS). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function setup() {
  const clock = new ManualClock(START);
  const bus = new MemoryBus();
  const membership = new MembershipTable({ clock });
  const driver = new MemoryStoreDriver();
  const registry = new MemoryPlacementRegistry(driver);
  const service = DirectoryService.start({
    id: "dir",
    transport: bus.connect("dir"),
    registry,
    membership,
    strategy: leastLoaded,
    clock,
    logger: silentLogger,
    heartbeatMs: 250,
    failureTimeoutMs: 2_000,
  });
  stops.push(() => service.stop());
  const down: string[] = [];
  bus.connect("watcher").subscribe(MEMBERSHIP_SUBJECT, (env) => void down.push(...membershipEventSchema.parse(env.body).down));
  const hb = (id: string): Heartbeat => ({ id, address: `http://${id}`, agents: 0, load: 0, draining: false, incarnation: `${id}-1`, startedAt: START });
  const beat = (id: string) => {
    const env: Envelope = { id: newMessageId(), kind: "host.heartbeat", from: id, deadline: clock.now() + 1_000, body: hb(id) };
    bus.connect(`${id}-beat`).publish(subjects.heartbeat(id), env);
  };
  const status = (id: string) => service.hosts().hosts.find((h) => h.id === id)?.status;
  /** Agents that exist, placed on `host`. */
  const placeOn = async (host: string, n: number) => {
    const ids = Array.from({ length: n }, (_, i) => `assistant/${host}${i}`);
    for (const id of ids) {
      await driver.create(id, new Uint8Array([1]));
      await registry.register(id, host, { now: clock.now() });
    }
    return ids;
  };
  return { clock, bus, service, membership, registry, beat, hb, status, down, placeOn };
}

describe("DirectoryService failure detection (memory bus, manual clock)", () => {
  it("a probe that meets no responders (the process is gone) declares the host dead at once and announces it", async () => {
    const t = setup();
    t.beat("a");
    await settle();
    expect(t.status("a")).toBe("alive");
    t.clock.advance(500);
    await t.service.sweep();
    await settle();
    expect(t.status("a")).toBe("dead");
    expect(t.down).toEqual(["a"]);
  });

  it("a host that answers the probe stays a member: its answer counts as a heartbeat", async () => {
    const t = setup();
    t.bus.connect("a").subscribe(subjects.host("a"), (env) => (env.kind === directoryToHostRpcs.ping.kind ? t.hb("a") : null));
    t.beat("a");
    await settle();
    t.clock.advance(600);
    await t.service.sweep();
    await settle();
    expect(t.status("a")).toBe("alive");
    expect(t.membership.get("a")!.lastHeartbeat).toBe(START + 600);
    expect(t.down).toEqual([]);
  });

  it("a host connected but silent (frozen) is suspected, then dead only after the failure timeout", async () => {
    const t = setup();
    t.bus.connect("a").subscribe(subjects.host("a"), () => new Promise(() => undefined));
    t.beat("a");
    await settle();
    t.clock.advance(500);
    await t.service.sweep();
    await settle();
    expect(t.status("a")).toBe("suspected");
    // The only live host is suspected: it is still offered for placement rather than refusing every new agent.
    expect(t.service.snapshot().hosts.map((h) => h.id)).toEqual(["a"]);
    t.clock.advance(1_499);
    await t.service.sweep();
    expect(t.status("a")).toBe("suspected");
    t.clock.advance(1);
    await t.service.sweep();
    await settle();
    expect(t.status("a")).toBe("dead");
    expect(t.down).toEqual(["a"]);
  });

  it("a host of the directory's own process is never suspected nor declared dead", async () => {
    const t = setup();
    t.service.markLocal("a");
    t.beat("a");
    await settle();
    t.clock.advance(60_000);
    await t.service.sweep();
    await settle();
    expect(t.status("a")).toBe("alive");
  });

  it("retries a failover activation that failed until it succeeds, without any new message", async () => {
    const t = setup();
    const activated: string[] = [];
    let failures = 2;
    t.bus.connect("b").subscribe(subjects.host("b"), (env) => {
      if (env.kind === directoryToHostRpcs.ping.kind) return t.hb("b");
      if (env.kind !== directoryToHostRpcs.activate.kind) return null;
      if (failures-- > 0) throw new UnavailableError("not now");
      activated.push(env.target!);
      return { ok: true };
    });
    t.beat("a");
    t.beat("b");
    await settle();
    const ids = await t.placeOn("a", 1);
    t.clock.advance(500);
    t.beat("b");
    await settle(); // b is heard before the sweep: only a is silent
    // a: no responders → dead → moved to b; the activation fails twice, and each sweep retries it.
    for (let sweep = 0; sweep < 5 && activated.length === 0; sweep++) {
      await t.service.sweep();
      await settle();
    }
    expect(failures).toBe(-1); // two refused attempts, then the one that succeeded
    expect(activated).toEqual(ids);
    expect((await t.registry.get(ids[0]!))!.host).toBe("b");
  });

  it("fails over (and activates) the placements a host left behind when it left the membership", async () => {
    const t = setup();
    const activated: string[] = [];
    t.bus.connect("b").subscribe(subjects.host("b"), (env) => {
      if (env.kind === directoryToHostRpcs.activate.kind) activated.push(env.target!);
      return env.kind === directoryToHostRpcs.ping.kind ? t.hb("b") : { ok: true };
    });
    t.beat("a");
    t.beat("b");
    await settle();
    const ids = await t.placeOn("a", 3);
    await new DirectoryClient({ hostId: "a", transport: t.bus.connect("a-client"), clock: t.clock }).leave();
    await settle();
    await t.service.sweep();
    await settle();
    expect(t.down).toEqual(["a"]);
    expect(activated.sort()).toEqual(ids);
    for (const id of ids) expect((await t.registry.get(id))!.host).toBe("b");
  });
});
