import { afterEach, describe, expect, it } from "vitest";
import type { Envelope } from "@colony/actors";
import { MemoryBus, newMessageId, silentLogger, subjects } from "@colony/actors";
import { MemoryStoreDriver } from "@colony/actors";
import { ManualClock } from "@colony/actors/testing";
import type { Heartbeat } from "../../src/membership/host-info.ts";
import { MembershipTable } from "../../src/membership/membership-table.ts";
import { StoreWatch } from "../../src/membership/store-watch.ts";
import { leastLoaded } from "../../src/placement/least-loaded.ts";
import { MemoryPlacementRegistry } from "../../src/registry/memory-registry.ts";
import { DirectoryService } from "../../src/service/directory-service.ts";
import { directoryToHostRpcs } from "../../src/service/protocol.ts";

const START = 1_700_000_000_000;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** A directory whose own store has been silent `own.ms`, and host "a" that heartbeats and answers probes saying its store was silent `a.ms`. */
function setup() {
  const clock = new ManualClock(START);
  const bus = new MemoryBus();
  const own = { ms: 100 };
  const a = { ms: 0 };
  const service = DirectoryService.start({
    id: "dir",
    transport: bus.connect("dir"),
    registry: new MemoryPlacementRegistry(new MemoryStoreDriver()),
    membership: new MembershipTable({ clock }),
    strategy: leastLoaded,
    clock,
    logger: silentLogger,
    heartbeatMs: 250,
    failureTimeoutMs: 2_000,
    storeSilentMs: () => own.ms,
  });
  stops.push(() => service.stop());
  const hb = (): Heartbeat => ({ id: "a", address: "http://a", agents: 0, load: 0, draining: false, incarnation: "a-1", startedAt: START, storeSilentMs: a.ms });
  bus.connect("a").subscribe(subjects.host("a"), (env) => (env.kind === directoryToHostRpcs.ping.kind ? hb() : null));
  const beat = () => {
    const env: Envelope = { id: newMessageId(), kind: "host.heartbeat", from: "a", deadline: clock.now() + 1_000, body: hb() };
    bus.connect("a-beat").publish(subjects.heartbeat("a"), env);
  };
  /** Heartbeats every 250 ms for `ms`, sweeping as the directory does. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 250) {
      clock.advance(250);
      beat();
      await settle();
      await service.sweep();
      await settle();
    }
  };
  const status = () => service.hosts().hosts.find((h) => h.id === "a")?.status;
  return { own, a, run, beat, status };
}

describe("a host cut off from Redis but not from NATS", () => {
  it("is declared dead once its store was silent for the failure timeout while the directory's was not, and rejoins when it reaches Redis again", async () => {
    const t = setup();
    t.beat();
    await settle();
    expect(t.status()).toBe("alive");
    t.a.ms = 2_000;
    await t.run(2_500);
    expect(t.status()).toBe("dead");
    t.a.ms = 100;
    await t.run(250);
    expect(t.status()).toBe("alive");
  });

  it("stays a member while the directory cannot reach Redis either (an outage of Redis itself: moving agents would not help)", async () => {
    const t = setup();
    t.beat();
    await settle();
    t.a.ms = 2_500;
    t.own.ms = 2_500;
    await t.run(4_000);
    expect(t.status()).toBe("alive");
  });

  it("stays a member while its store answers, however slowly, within the failure timeout", async () => {
    const t = setup();
    t.beat();
    await settle();
    t.a.ms = 1_900;
    await t.run(4_000);
    expect(t.status()).toBe("alive");
  });
});

describe("StoreWatch", () => {
  it("counts the time since the store last answered, one ping at a time", async () => {
    let now = 0;
    const pending: (() => void)[] = [];
    const watch = new StoreWatch(() => new Promise<void>((resolve) => pending.push(resolve)), 60_000, () => now).start();
    stops.push(async () => watch.stop());
    expect(pending).toHaveLength(1);
    now = 500;
    expect(watch.silentMs()).toBe(500);
    pending.shift()!();
    await settle();
    expect(watch.silentMs()).toBe(0);
    now = 3_000;
    expect(watch.silentMs()).toBe(2_500);
  });
});
