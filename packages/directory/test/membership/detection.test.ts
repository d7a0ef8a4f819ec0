import { describe, expect, it } from "vitest";
import { ManualClock } from "@colony/actors/testing";
import type { Heartbeat } from "../../src/membership/host-info.ts";
import { heartbeatSchema } from "../../src/membership/host-info.ts";
import type { MembershipTableOptions } from "../../src/membership/membership-table.ts";
import { MembershipTable } from "../../src/membership/membership-table.ts";

const START = 1_700_000_000_000;

function hb(id: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return heartbeatSchema.parse({ id, address: `http://${id}:8080`, agents: 0, load: 0, draining: false, incarnation: `${id}-inc1`, startedAt: START - 5_000, ...over });
}

function setup(options: Omit<MembershipTableOptions, "clock"> = {}) {
  const clock = new ManualClock(START);
  return { clock, table: new MembershipTable({ clock, ...options }) };
}

describe("failure detection: local hosts and a frozen directory", () => {
  it("never declares a host of the directory's own process dead, however long it is silent", () => {
    const { clock, table } = setup();
    table.markLocal("me");
    table.observe(hb("me"));
    table.observe(hb("other"));
    clock.advance(60_000);
    expect(table.expire().map((m) => m.id)).toEqual(["other"]);
    expect(table.isAlive("me")).toBe(true);
    expect(table.nextExpiryAt()).toBeNull();
    // It still leaves like any host.
    expect(table.leave("me")).toBe(true);
    expect(table.isAlive("me")).toBe(false);
  });

  it("forgive() restarts every live host's silence from now", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    clock.advance(5_000);
    table.forgive();
    expect(table.expire()).toEqual([]);
    expect(table.nextExpiryAt()).toBe(START + 5_000 + table.options.suspectAfterMs);
  });
});

describe("failure detection: suspicion, probes and the grace", () => {
  it("suspects a host silent for suspectAfterMs: still a member holding its agents, but out of the placement snapshot", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    table.observe(hb("b"));
    expect(table.nextExpiryAt()).toBe(START + 500);
    clock.advance(499);
    table.observe(hb("b"));
    expect(table.suspect()).toEqual([]);
    clock.advance(1);
    const v = table.version;
    expect(table.suspect().map((m) => [m.id, m.status])).toEqual([["a", "suspected"]]);
    expect(table.version).toBe(v + 1);
    expect(table.isAlive("a")).toBe(true);
    expect(table.snapshot().hosts.map((h) => h.id)).toEqual(["b"]);
    expect(table.all().map((m) => m.status)).toEqual(["suspected", "alive"]);
    // Still suspected on the next sweep (to be probed again), and now due to die at the full timeout.
    expect(table.suspect().map((m) => m.id)).toEqual(["a"]);
    // b (heard at 499) is due for suspicion at 999, before a is due to die at 2000.
    expect(table.nextExpiryAt()).toBe(START + 999);
  });

  it("offers the suspected hosts for placement when every live host is suspected (a starved directory hears no one)", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    table.observe(hb("b"));
    clock.advance(600);
    expect(table.suspect().map((m) => m.id)).toEqual(["a", "b"]);
    expect(table.snapshot().hosts.map((h) => h.id)).toEqual(["a", "b"]);
    // Once one speaks again, only it takes new agents.
    table.observe(hb("b"));
    expect(table.snapshot().hosts.map((h) => h.id)).toEqual(["b"]);
  });

  it("clears the suspicion when the host speaks again, without a failover", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    clock.advance(1_750); // a 1.5 s block plus one heartbeat
    expect(table.suspect()).toHaveLength(1);
    expect(table.expire()).toEqual([]);
    expect(table.observe(hb("a")).change).toBe("updated");
    expect(table.all().map((m) => m.status)).toEqual(["alive"]);
    expect(table.snapshot().hosts.map((h) => h.id)).toEqual(["a"]);
  });

  it("declares a silent host that never answers dead only at the failure timeout", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    clock.advance(600);
    table.suspect();
    clock.advance(1_399);
    expect(table.expire()).toEqual([]);
    clock.advance(1);
    expect(table.expire().map((m) => [m.id, m.status])).toEqual([["a", "dead"]]);
  });

  it("confirms a crash at once, for the probed incarnation only, never a local host, never while paused", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    table.observe(hb("me"));
    table.markLocal("me");
    clock.advance(500);
    table.suspect();
    expect(table.confirmDead("a", "a-old")).toBeNull();
    expect(table.confirmDead("me", "me-inc1")).toBeNull();
    table.pause();
    expect(table.confirmDead("a", "a-inc1")).toBeNull();
    table.resume();
    expect(table.confirmDead("a", "a-inc1")).toMatchObject({ id: "a", status: "dead", statusSince: START + 500 });
    expect(table.confirmDead("a", "a-inc1")).toBeNull();
    expect(table.isAlive("a")).toBe(false);
  });

  it("a restart of a suspected host is a restart (its old incarnation's agents must move)", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    clock.advance(600);
    table.suspect();
    expect(table.observe(hb("a", { incarnation: "a-inc2" })).change).toBe("restarted");
  });

  it("counts placements in a host's load until its next heartbeat, so a burst spreads", () => {
    const { table } = setup();
    table.observe(hb("a", { agents: 4, load: 1 }));
    table.notePlaced("a");
    table.notePlaced("a");
    expect(table.snapshot().hosts[0]).toMatchObject({ agents: 6, load: 3 });
    table.observe(hb("a", { agents: 6, load: 0 }));
    expect(table.snapshot().hosts[0]).toMatchObject({ agents: 6, load: 0 });
  });
});
