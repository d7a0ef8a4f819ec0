import { describe, expect, it } from "vitest";
import { ValidationError } from "@colony/actors";
import type { MembershipSnapshot } from "../../src/membership/host-info.ts";
import { consistentHash } from "../../src/placement/consistent-hash.ts";
import { leastLoaded } from "../../src/placement/least-loaded.ts";
import { preferLocal } from "../../src/placement/prefer-local.ts";
import { randomPlacement } from "../../src/placement/random.ts";
import { DEFAULT_STRATEGY, STRATEGY_NAMES, isStrategyName, parseStrategyName, strategies } from "../../src/placement/strategies.ts";
import type { PlacementStrategy, StrategyName } from "../../src/placement/strategy.ts";
import { agentIds, frozenSnapshot, host, hostIds, plainSnapshot, seeded } from "./fixtures.ts";

const NAMES: StrategyName[] = ["least-loaded", "random", "prefer-local", "consistent-hash"];

/**
 * Every snapshot of 0..7 hosts under every draining mask, with loads and
 * agent counts drawn from tiny ranges so ties are common.
 */
function* everySnapshot(): Generator<MembershipSnapshot> {
  const rnd = seeded(7);
  for (let n = 0; n <= 7; n++) {
    for (let mask = 0; mask < 1 << n; mask++) {
      const hosts = hostIds(n).map((id, i) =>
        host(id, { draining: (mask & (1 << i)) !== 0, load: Math.floor(rnd() * 3), agents: Math.floor(rnd() * 3) }),
      );
      yield frozenSnapshot(hosts, mask + 1);
    }
  }
}

const lighterOrEqual = (s: MembershipSnapshot, id: string) => {
  const pick = s.hosts.find((h) => h.id === id)!;
  return s.hosts.filter((h) => !h.draining).every((h) => pick.load < h.load || (pick.load === h.load && pick.agents <= h.agents));
};

describe("placement strategies: properties over every small snapshot", () => {
  const agents = agentIds(12, "worker/w");

  it.each(NAMES)("%s: picks a live non-draining host of the snapshot, null only when there is none, the same one every time", (name) => {
    const strategy = strategies[name];
    let decisions = 0;
    for (const snapshot of everySnapshot()) {
      const eligible = snapshot.hosts.filter((h) => !h.draining).map((h) => h.id);
      for (const [i, agent] of agents.entries()) {
        const requester = i % 3 === 0 ? undefined : `host-${i % 9}`; // sometimes a member, sometimes not
        const input = { snapshot, agent, ...(requester ? { requester } : {}), random: seeded(i) };
        const pick = strategy(input);
        decisions++;
        if (eligible.length === 0) {
          expect(pick).toBeNull();
          continue;
        }
        expect(eligible).toContain(pick);
        // Deterministic: same inputs (and a fresh, equally seeded random), same answer, memoized or not.
        expect(strategy({ ...input, random: seeded(i) })).toBe(pick);
        expect(strategy({ ...input, snapshot: plainSnapshot(snapshot), random: seeded(i) })).toBe(pick);
      }
    }
    expect(decisions).toBeGreaterThan(3_000);
  });

  it("least-loaded always picks a host of minimal (load, agents)", () => {
    for (const snapshot of everySnapshot()) {
      for (const agent of agents) {
        const pick = leastLoaded({ snapshot, agent, random: () => 0 });
        if (pick !== null) expect(lighterOrEqual(snapshot, pick)).toBe(true);
      }
    }
  });

  it("least-loaded and consistent-hash do not depend on the order of the host array", () => {
    const rnd = seeded(3);
    for (let trial = 0; trial < 200; trial++) {
      const hosts = hostIds(1 + Math.floor(rnd() * 9)).map((id) => host(id, { load: Math.floor(rnd() * 2), draining: rnd() < 0.2 }));
      const sorted = frozenSnapshot(hosts);
      const shuffled: MembershipSnapshot = { version: 1, hosts: [...hosts].sort(() => rnd() - 0.5) };
      for (const agent of agents) {
        expect(leastLoaded({ snapshot: shuffled, agent, random: rnd })).toBe(leastLoaded({ snapshot: sorted, agent, random: rnd }));
        expect(consistentHash({ snapshot: shuffled, agent, random: rnd })).toBe(consistentHash({ snapshot: sorted, agent, random: rnd }));
      }
    }
  });

  it("never returns a draining host even when it is the least loaded or the requester", () => {
    const snapshot = frozenSnapshot([host("a", { draining: true, load: 0 }), host("b", { load: 50 }), host("c", { load: 60, draining: true })]);
    for (const name of NAMES) {
      for (const agent of agents) {
        for (const r of [0, 0.34, 0.67, 0.999]) expect(strategies[name]({ snapshot, agent, requester: "a", random: () => r })).toBe("b");
      }
    }
  });
});

describe("least-loaded", () => {
  it("prefers the fewest turns in flight, then the fewest activations", () => {
    const snapshot = frozenSnapshot([host("a", { load: 3, agents: 1 }), host("b", { load: 1, agents: 90 }), host("c", { load: 1, agents: 40 }), host("d", { load: 2, agents: 0 })]);
    expect(leastLoaded({ snapshot, agent: "x/1", random: Math.random })).toBe("c");
  });

  it("compares fractional loads", () => {
    const snapshot = frozenSnapshot([host("a", { load: 0.75 }), host("b", { load: 0.5 })]);
    expect(leastLoaded({ snapshot, agent: "x/1", random: Math.random })).toBe("b");
  });

  it("spreads agents evenly over equally loaded hosts (rendezvous tie-break), instead of piling onto one", () => {
    const snapshot = frozenSnapshot(hostIds(5).map((id) => host(id)));
    const counts = new Map<string, number>();
    for (const agent of agentIds(10_000)) {
      const h = leastLoaded({ snapshot, agent, random: () => 0 })!;
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    expect(counts.size).toBe(5);
    for (const c of counts.values()) expect(Math.abs(c - 2_000)).toBeLessThan(200);
  });

  it("breaks ties only among the least loaded", () => {
    const snapshot = frozenSnapshot([host("a", { load: 1 }), host("b"), host("c"), host("d", { load: 1 })]);
    const picks = new Set(agentIds(500).map((agent) => leastLoaded({ snapshot, agent, random: () => 0 })));
    expect([...picks].sort()).toEqual(["b", "c"]);
  });
});

describe("random", () => {
  const snapshot = frozenSnapshot([host("a"), host("b", { draining: true }), host("c"), host("d")]);

  it("maps the injected random over the eligible hosts in snapshot order", () => {
    expect(randomPlacement({ snapshot, agent: "x/1", random: () => 0 })).toBe("a");
    expect(randomPlacement({ snapshot, agent: "x/1", random: () => 0.34 })).toBe("c");
    expect(randomPlacement({ snapshot, agent: "x/1", random: () => 0.9999 })).toBe("d");
  });

  it("survives a random source that breaks its contract", () => {
    for (const r of [1, 1.5, -0.2, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(["a", "c", "d"]).toContain(randomPlacement({ snapshot, agent: "x/1", random: () => r }));
    }
  });

  it("is uniform for a uniform source, whatever the agent", () => {
    const rnd = seeded(11);
    const counts = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const h = randomPlacement({ snapshot, agent: "same/agent", random: rnd })!;
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["a", "c", "d"]);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});

describe("prefer-local", () => {
  const snapshot = frozenSnapshot([host("busy", { load: 9 }), host("idle"), host("leaving", { draining: true })]);
  const ll = (agent: string) => leastLoaded({ snapshot, agent, random: Math.random });

  it("keeps the agent on the requesting host when it is a live, non-draining member, however busy", () => {
    expect(preferLocal({ snapshot, agent: "x/1", requester: "busy", random: Math.random })).toBe("busy");
  });

  it("falls back to least-loaded for a draining, unknown or absent requester", () => {
    expect(preferLocal({ snapshot, agent: "x/1", requester: "leaving", random: Math.random })).toBe(ll("x/1"));
    expect(preferLocal({ snapshot, agent: "x/1", requester: "gone", random: Math.random })).toBe(ll("x/1"));
    expect(preferLocal({ snapshot, agent: "x/1", random: Math.random })).toBe("idle");
  });

  it("returns null when nobody can take the agent, even if asked by a draining host", () => {
    const s = frozenSnapshot([host("leaving", { draining: true })]);
    expect(preferLocal({ snapshot: s, agent: "x/1", requester: "leaving", random: Math.random })).toBeNull();
  });
});

describe("consistent-hash", () => {
  const AGENTS = agentIds(10_000);
  const assign = (hosts: string[], opts: { draining?: string[]; loads?: boolean } = {}) => {
    const snapshot = frozenSnapshot(hosts.map((id, i) => host(id, { draining: opts.draining?.includes(id) ?? false, load: opts.loads ? i * 7 : 0 })));
    return new Map(AGENTS.map((a) => [a, consistentHash({ snapshot, agent: a, random: Math.random })!]));
  };
  const moved = (a: Map<string, string>, b: Map<string, string>) => AGENTS.filter((x) => a.get(x) !== b.get(x));

  it("ignores load: the same agent lands on the same host while the host set stands", () => {
    const hosts = hostIds(6);
    expect(moved(assign(hosts), assign(hosts, { loads: true }))).toEqual([]);
  });

  it.each([3, 5, 10, 20])("moves only ~1/(N+1) of 10,000 agents, all to the new host, when host %i+1 joins", (n) => {
    const before = assign(hostIds(n));
    const after = assign([...hostIds(n), "newcomer"]);
    const m = moved(before, after);
    for (const a of m) expect(after.get(a)).toBe("newcomer");
    const expected = AGENTS.length / (n + 1);
    expect(Math.abs(m.length - expected)).toBeLessThan(expected * 0.15);
  });

  it.each([3, 5, 10, 20])("moves only the removed host's agents when one of %i leaves (or drains)", (n) => {
    const hosts = hostIds(n);
    const before = assign(hosts);
    const victim = hosts[1]!;
    const heldByVictim = AGENTS.filter((a) => before.get(a) === victim);
    const after = assign(hosts.filter((h) => h !== victim));
    expect(moved(before, after)).toEqual(heldByVictim);
    expect(moved(before, assign(hosts, { draining: [victim] }))).toEqual(heldByVictim);
    // Their new homes are spread over the survivors, not dumped on one.
    const homes = new Set(heldByVictim.map((a) => after.get(a)));
    expect(homes.size).toBe(n - 1);
  });

  it.each([
    [2, "host-"],
    [3, "host-"],
    [7, "h"],
    [10, "10.0.0."],
    [50, "colony-host-"],
  ] as const)("spreads 10,000 agents evenly over %i hosts named %s*", (n, prefix) => {
    const counts = new Map<string, number>();
    for (const h of assign(hostIds(n, prefix)).values()) counts.set(h, (counts.get(h) ?? 0) + 1);
    expect(counts.size).toBe(n);
    const expected = AGENTS.length / n;
    // Pearson's chi-square against uniform: for n-1 degrees of freedom its mean is n-1; allow a generous margin.
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(n - 1 + 6 * Math.sqrt(2 * (n - 1)) + 4);
    for (const c of counts.values()) expect(Math.abs(c - expected)).toBeLessThan(expected * (n >= 50 ? 0.35 : 0.12));
  });
});

describe("strategy names", () => {
  it("has exactly the four strategies, least-loaded by default", () => {
    expect([...STRATEGY_NAMES].sort()).toEqual([...NAMES].sort());
    expect(Object.keys(strategies).sort()).toEqual([...NAMES].sort());
    expect(DEFAULT_STRATEGY).toBe("least-loaded");
    const impls: Record<StrategyName, PlacementStrategy> = { "least-loaded": leastLoaded, random: randomPlacement, "prefer-local": preferLocal, "consistent-hash": consistentHash };
    for (const n of NAMES) expect(strategies[n]).toBe(impls[n]);
    expect(Object.isFrozen(strategies)).toBe(true);
  });

  it("parses every valid name", () => {
    for (const n of NAMES) {
      expect(parseStrategyName(n)).toBe(n);
      expect(isStrategyName(n)).toBe(true);
    }
  });

  it.each([["least_loaded"], ["LEAST-LOADED"], [""], ["toString"], ["constructor"]])("rejects %j, naming the value, the field and the choices", (value) => {
    let err: unknown;
    try {
      parseStrategyName(value, "COLONY_PLACEMENT");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const e = err as ValidationError;
    expect(e.message).toContain(JSON.stringify(value));
    expect(e.message).toContain("COLONY_PLACEMENT");
    for (const n of NAMES) expect(e.message).toContain(n);
    expect(e.details).toMatchObject({ field: "COLONY_PLACEMENT", value });
    expect(isStrategyName(value)).toBe(false);
  });

  it("rejects non-strings by type", () => {
    expect(() => parseStrategyName(undefined)).toThrow(/placementStrategy must be one of .*; got a undefined/);
    expect(() => parseStrategyName(null)).toThrow(/got a null/);
    expect(() => parseStrategyName(3)).toThrow(/got a number/);
  });
});
