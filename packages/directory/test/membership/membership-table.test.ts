import { describe, expect, it } from "vitest";
import { ValidationError } from "@colony/actors";
import { ManualClock } from "@colony/actors/testing";
import type { Heartbeat, MembershipSnapshot } from "../../src/membership/host-info.ts";
import { heartbeatSchema } from "../../src/membership/host-info.ts";
import { MembershipTable } from "../../src/membership/membership-table.ts";

const START = 1_700_000_000_000;

function hb(id: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return heartbeatSchema.parse({ id, address: `http://${id}:8080`, agents: 0, load: 0, draining: false, incarnation: `${id}-inc1`, startedAt: START - 5_000, ...over });
}

/** The timeout alone, as before suspicion existed (detection.test.ts covers suspicion and probes). */
function setup(options: { heartbeatMs?: number; failureTimeoutMs?: number; deadRetentionMs?: number } = {}) {
  const clock = new ManualClock(START);
  const failureTimeoutMs = options.failureTimeoutMs ?? 1_000;
  const table = new MembershipTable({ clock, ...options, failureTimeoutMs, suspectAfterMs: failureTimeoutMs });
  return { clock, table };
}

const ids = (s: MembershipSnapshot) => s.hosts.map((h) => h.id);

describe("MembershipTable", () => {
  it("starts empty at version 0 and rejects bad options by name", () => {
    const { table } = setup();
    expect(table.snapshot()).toEqual({ version: 0, hosts: [] });
    expect(table.all()).toEqual([]);
    expect(table.nextExpiryAt()).toBeNull();
    expect(() => new MembershipTable({ heartbeatMs: 500, failureTimeoutMs: 900 })).toThrow(ValidationError);
    expect(() => new MembershipTable({ heartbeatMs: 500, failureTimeoutMs: 900 })).toThrow(/failureTimeoutMs.*900/);
  });

  it("records a joining host with the directory's clock, and keeps the snapshot sorted by id", () => {
    const { clock, table } = setup();
    expect(table.observe(hb("c")).change).toBe("joined");
    clock.advance(10);
    const out = table.observe(hb("a", { agents: 3, load: 2 }));
    expect(out).toMatchObject({ change: "joined", member: { id: "a", status: "alive", statusSince: START + 10 } });
    table.observe(hb("b"));
    const s = table.snapshot();
    expect(s.version).toBe(3);
    expect(ids(s)).toEqual(["a", "b", "c"]);
    expect(s.hosts[0]).toEqual({ ...hb("a", { agents: 3, load: 2 }), lastHeartbeat: START + 10 });
    expect(table.isAlive("a")).toBe(true);
    expect(table.isAlive("zzz")).toBe(false);
  });

  it("hands out deeply frozen snapshots that later changes never touch", () => {
    const { table } = setup();
    table.observe(hb("a"));
    const s = table.snapshot();
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.hosts)).toBe(true);
    expect(Object.isFrozen(s.hosts[0])).toBe(true);
    expect(() => (s.hosts as unknown as Heartbeat[]).push(hb("x"))).toThrow(TypeError);
    expect(() => {
      (s.hosts[0] as { load: number }).load = 99;
    }).toThrow(TypeError);
    table.observe(hb("a", { load: 5 }));
    table.observe(hb("b"));
    expect(s.hosts).toHaveLength(1);
    expect(s.hosts[0]!.load).toBe(0);
  });

  it("keeps the version on a plain heartbeat, yet the next snapshot has the fresh load figures", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    table.observe(hb("b"));
    const before = table.snapshot();
    expect(table.snapshot()).toBe(before); // nothing changed: the same object
    clock.advance(250);
    expect(table.observe(hb("a", { load: 7, agents: 12 })).change).toBe("heartbeat");
    const after = table.snapshot();
    expect(after).not.toBe(before);
    expect(after.version).toBe(before.version);
    expect(after.hosts[0]).toMatchObject({ id: "a", load: 7, agents: 12, lastHeartbeat: START + 250 });
    // The host that did not speak is the very same frozen object: a rebuild copies pointers.
    expect(after.hosts[1]).toBe(before.hosts[1]);
    expect(table.snapshot()).toBe(after);
  });

  it("bumps the version when a host starts or stops draining, or moves its address", () => {
    const { table } = setup();
    table.observe(hb("a"));
    const v0 = table.snapshot().version;
    expect(table.observe(hb("a", { draining: true })).change).toBe("updated");
    expect(table.snapshot().version).toBe(v0 + 1);
    expect(table.snapshot().hosts[0]!.draining).toBe(true);
    expect(table.observe(hb("a", { draining: true, load: 3 })).change).toBe("heartbeat");
    expect(table.snapshot().version).toBe(v0 + 1);
    expect(table.observe(hb("a", { draining: false })).change).toBe("updated");
    expect(table.observe(hb("a", { address: "http://10.0.0.9:8080" })).change).toBe("updated");
    expect(table.snapshot().version).toBe(v0 + 3);
    expect(table.isAlive("a")).toBe(true);
  });

  it("treats a new incarnation as a new member and reports the one it replaced; the old one's late beats are ignored", () => {
    const { clock, table } = setup();
    table.observe(hb("a", { agents: 40 }));
    const v = table.snapshot().version;
    clock.advance(100);
    const out = table.observe(hb("a", { incarnation: "a-inc2", startedAt: START + 90 }));
    expect(out.change).toBe("restarted");
    if (out.change !== "restarted") throw new Error("unreachable");
    expect(out.previous).toMatchObject({ id: "a", incarnation: "a-inc1", agents: 40, status: "alive" });
    expect(out.member).toMatchObject({ incarnation: "a-inc2", statusSince: START + 100 });
    expect(table.snapshot().version).toBe(v + 1);
    expect(table.observe(hb("a", { load: 9 }))).toEqual({ change: "ignored", reason: "superseded" });
    expect(table.snapshot().hosts[0]).toMatchObject({ incarnation: "a-inc2", load: 0 });
    expect(table.snapshot().version).toBe(v + 1);
  });

  it("declares dead exactly the hosts silent for the failure timeout, and reports each death once", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    table.observe(hb("b"));
    clock.advance(600);
    table.observe(hb("b"));
    const v = table.snapshot().version;
    expect(table.nextExpiryAt()).toBe(START + 1_000);
    clock.advance(399);
    expect(table.expire()).toEqual([]);
    clock.advance(1);
    const died = table.expire();
    expect(died.map((m) => [m.id, m.status, m.statusSince])).toEqual([["a", "dead", START + 1_000]]);
    expect(table.expire()).toEqual([]);
    expect(table.snapshot().version).toBe(v + 1);
    expect(ids(table.snapshot())).toEqual(["b"]);
    expect(table.isAlive("a")).toBe(false);
    expect(table.all().map((m) => [m.id, m.status])).toEqual([["a", "dead"], ["b", "alive"]]);
    expect(table.nextExpiryAt()).toBe(START + 1_600);
    clock.advance(600);
    expect(table.expire().map((m) => m.id)).toEqual(["b"]);
    expect(table.snapshot().hosts).toEqual([]);
  });

  it("never kills a host that keeps beating", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    for (let i = 0; i < 200; i++) {
      clock.advance(250);
      table.observe(hb("a", { load: i % 3 }));
      expect(table.expire()).toEqual([]);
    }
    expect(table.snapshot().version).toBe(1);
  });

  it("detects a SIGKILLed host inside the 2 s failover budget with the default options and a sweep every heartbeat", () => {
    const { clock, table } = setup();
    let alive = true;
    let deathSeenAt: number | undefined;
    const beat = () => {
      if (!alive) return;
      table.observe(hb("victim"));
      clock.setTimeout(beat, 250);
    };
    const sweep = () => {
      if (table.expire().some((m) => m.id === "victim")) deathSeenAt = clock.now();
      clock.setTimeout(sweep, 250);
    };
    beat();
    clock.advance(37); // sweeps out of phase with the beats
    sweep();
    // Kill it at several phases relative to its last beat.
    clock.advance(5_000 + 249);
    alive = false;
    const killedAt = clock.now();
    clock.advance(3_000);
    expect(deathSeenAt).toBeDefined();
    expect(deathSeenAt! - killedAt).toBeGreaterThanOrEqual(1_000 - 250);
    expect(deathSeenAt! - killedAt).toBeLessThanOrEqual(1_250);
  });

  it("takes a dead host back when it speaks again with the same incarnation (a healed partition)", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    clock.advance(1_000);
    expect(table.expire()).toHaveLength(1);
    const v = table.snapshot().version;
    clock.advance(50);
    expect(table.observe(hb("a", { load: 1 }))).toMatchObject({ change: "rejoined", member: { status: "alive", statusSince: START + 1_050 } });
    expect(table.snapshot().version).toBe(v + 1);
    expect(ids(table.snapshot())).toEqual(["a"]);
    expect(table.isAlive("a")).toBe(true);
  });

  it("counts a new incarnation of a dead host as a plain join", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    clock.advance(1_000);
    table.expire();
    expect(table.observe(hb("a", { incarnation: "a-inc2" })).change).toBe("joined");
    expect(table.all()).toMatchObject([{ id: "a", incarnation: "a-inc2", status: "alive" }]);
  });

  it("lets a host leave gracefully, at once; a leave is final for its incarnation", () => {
    const { clock, table } = setup();
    table.observe(hb("a", { agents: 4, load: 2 }));
    table.observe(hb("b"));
    const v = table.snapshot().version;
    clock.advance(10);
    expect(table.leave("a", "some-other-incarnation")).toBe(false);
    expect(table.leave("a")).toBe(true);
    expect(table.leave("a")).toBe(false);
    expect(table.leave("nobody")).toBe(false);
    expect(table.snapshot().version).toBe(v + 1);
    expect(ids(table.snapshot())).toEqual(["b"]);
    // Its activations left with it: no stale count in `colony hosts`.
    expect(table.get("a")).toMatchObject({ status: "left", statusSince: START + 10, agents: 0, load: 0 });
    // A late heartbeat of the departed incarnation does not bring it back...
    expect(table.observe(hb("a"))).toEqual({ change: "ignored", reason: "left" });
    expect(ids(table.snapshot())).toEqual(["b"]);
    // ...nor does the failure detector count it again.
    clock.advance(5_000);
    expect(table.expire().map((m) => m.id)).toEqual(["b"]);
    // A restarted process is a new member.
    expect(table.observe(hb("a", { incarnation: "a-inc2" })).change).toBe("joined");
    expect(ids(table.snapshot())).toEqual(["a"]);
  });

  it("forgets dead and departed hosts after the retention period", () => {
    const { clock, table } = setup({ deadRetentionMs: 10_000 });
    table.observe(hb("a"));
    table.observe(hb("b"));
    table.observe(hb("c"));
    table.leave("c");
    clock.advance(1_000);
    table.observe(hb("b"));
    table.expire();
    expect(table.all().map((m) => [m.id, m.status])).toEqual([["a", "dead"], ["b", "alive"], ["c", "left"]]);
    clock.advance(8_999);
    table.observe(hb("b"));
    expect(table.all().map((m) => m.id)).toEqual(["a", "b", "c"]);
    clock.advance(1);
    expect(table.all().map((m) => m.id)).toEqual(["a", "b"]); // c left 10 s ago
    expect(table.get("c")).toBeUndefined();
    clock.advance(999);
    table.observe(hb("b"));
    expect(table.all().map((m) => m.id)).toEqual(["a", "b"]);
    clock.advance(1);
    expect(table.all().map((m) => m.id)).toEqual(["b"]); // a died 10 s ago
    expect(table.get("a")).toBeUndefined();
    const v = table.snapshot().version;
    table.expire(); // prunes them for good
    expect(table.snapshot().version).toBe(v);
    expect(table.observe(hb("c")).change).toBe("joined"); // a forgotten incarnation is a stranger again
  });

  it("declares nobody dead while paused, and on resume gives every member a full timeout from now", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    clock.advance(500);
    table.observe(hb("b"));
    const v = table.snapshot().version;
    table.pause();
    expect(table.paused).toBe(true);
    expect(table.nextExpiryAt()).toBeNull();
    clock.advance(30_000); // a long NATS outage: nobody heard from
    expect(table.expire()).toEqual([]);
    expect(ids(table.snapshot())).toEqual(["a", "b"]);
    table.resume();
    expect(table.paused).toBe(false);
    const resumedAt = clock.now();
    expect(table.snapshot().version).toBe(v); // nothing joined or left
    expect(table.snapshot().hosts.map((h) => h.lastHeartbeat)).toEqual([resumedAt, resumedAt]);
    expect(table.nextExpiryAt()).toBe(resumedAt + 1_000);
    clock.advance(600);
    table.observe(hb("b")); // b reconnected; a never did
    clock.advance(399);
    expect(table.expire()).toEqual([]);
    clock.advance(1);
    expect(table.expire().map((m) => m.id)).toEqual(["a"]);
    table.resume(); // not paused: no effect
    expect(table.snapshot().hosts.map((h) => h.lastHeartbeat)).toEqual([resumedAt + 600]);
  });

  it("still records heartbeats and leaves while paused", () => {
    const { table } = setup();
    table.pause();
    expect(table.observe(hb("a")).change).toBe("joined");
    expect(table.observe(hb("b")).change).toBe("joined");
    expect(table.leave("b")).toBe(true);
    expect(ids(table.snapshot())).toEqual(["a"]);
  });

  it("bumps the version exactly when the live set or a host's draining/address changes (random walk)", () => {
    let seed = 42;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const { clock, table } = setup({ heartbeatMs: 100, failureTimeoutMs: 300, deadRetentionMs: 2_000 });
    const hosts = ["h0", "h1", "h2", "h3", "h4", "h5"];
    const incarnation = new Map(hosts.map((h) => [h, 1]));
    const shape = (s: MembershipSnapshot) => JSON.stringify(s.hosts.map((h) => [h.id, h.incarnation, h.draining, h.address]));
    let prev = table.snapshot();
    let versions = 0;
    for (let step = 0; step < 5_000; step++) {
      const h = hosts[Math.floor(rnd() * hosts.length)]!;
      const r = rnd();
      if (r < 0.55) table.observe(hb(h, { incarnation: `${h}-inc${incarnation.get(h)}`, load: Math.floor(rnd() * 4), draining: rnd() < 0.15 }));
      else if (r < 0.6) table.leave(h);
      else if (r < 0.63) incarnation.set(h, incarnation.get(h)! + 1);
      else if (r < 0.65) table.pause();
      else if (r < 0.68) table.resume();
      else if (r < 0.9) clock.advance(Math.floor(rnd() * 150));
      else table.expire();
      const s = table.snapshot();
      expect(Object.isFrozen(s.hosts)).toBe(true);
      expect(ids(s)).toEqual([...ids(s)].sort());
      for (const host of s.hosts) expect(table.isAlive(host.id)).toBe(true);
      expect(s.version).toBeGreaterThanOrEqual(prev.version);
      // One operation per step: the version moves if and only if the membership did.
      expect(s.version !== prev.version).toBe(shape(s) !== shape(prev));
      if (s.version !== prev.version) versions++;
      prev = s;
    }
    expect(versions).toBeGreaterThan(100);
  });
});
