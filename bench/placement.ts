/**
 * Placement decisions per strategy, without a network: ns per decision for
 * 3 and 50 live hosts (a fifth of them draining at 50), against a raw
 * baseline from the same run: one indexed scan of a plain host array for
 * the smallest load, the least any load-aware decision can do.
 *
 * Two snapshots are timed: a warm one, as the directory serves between
 * heartbeats (one frozen object from MembershipTable, so what the
 * strategies derive from it is memoized), and a cold one (every decision on
 * a fresh snapshot, the worst case: a heartbeat between every placement).
 *
 * Run alone: `npx tsx bench/placement.ts`.
 */
import { pathToFileURL } from "node:url";
import type { HostInfo, MembershipSnapshot } from "../packages/directory/src/membership/host-info.ts";
import { strategies } from "../packages/directory/src/placement/strategies.ts";
import type { StrategyName } from "../packages/directory/src/placement/strategy.ts";
import type { Row } from "./stats.ts";
import { fmt, printTable } from "./stats.ts";

const AGENTS = Array.from({ length: 4_096 }, (_, i) => `assistant/bench-agent-${i.toString(36)}`);

function hosts(n: number): HostInfo[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `colony-host-${String(i).padStart(3, "0")}`,
    address: `http://10.0.${i >> 8}.${i & 255}:8080`,
    agents: 100 + ((i * 37) % 23),
    load: (i * 13) % 5,
    draining: n > 3 && i % 5 === 4,
    incarnation: `inc-${i}`,
    startedAt: 0,
    lastHeartbeat: 0,
  }));
}

type Decide = (input: { snapshot: MembershipSnapshot; agent: string; requester?: string; random: () => number }) => string | null;

/**
 * A timing loop compiled afresh for each measurement, so its call site sees
 * one strategy only (as in a directory, which runs one): a loop shared by
 * every strategy goes megamorphic and times V8's inline caches instead.
 * Snapshot `i` of `snapshots` (modulo its length) serves decision `i`.
 */
function compileLoop(): (decide: Decide, snapshots: MembershipSnapshot[], agents: string[], requester: string, random: () => number, batch: number) => number {
  return new Function(
    "decide",
    "snapshots",
    "agents",
    "requester",
    "random",
    "batch",
    `let placed = 0;
     const ns = snapshots.length, na = agents.length;
     for (let i = 0; i < batch; i++) if (decide({ snapshot: snapshots[i % ns], agent: agents[i % na], requester, random }) !== null) placed++;
     return placed;`,
  ) as never;
}

/** Median ns per decision over `rounds` timed batches (after a warm-up batch); `snapshots()` is built untimed before each. */
function nsPerDecision(decide: Decide, snapshots: () => MembershipSnapshot[], batch: number, random: () => number, rounds = 7): number {
  const loop = compileLoop();
  const samples: number[] = [];
  let placed = 0;
  for (let r = -1; r < rounds; r++) {
    const snaps = snapshots();
    const t0 = process.hrtime.bigint();
    placed += loop(decide, snaps, AGENTS, "colony-host-001", random, batch);
    if (r >= 0) samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  if (placed === 0) throw new Error("the bench placed nothing: its snapshots have no eligible host");
  return samples.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

/** The baseline: the cheapest load-aware decision, one indexed pass over a plain array for the smallest load. */
const rawScan: Decide = ({ snapshot }) => {
  const hs = snapshot.hosts;
  let best = -1;
  for (let i = 0; i < hs.length; i++) if (!hs[i]!.draining && (best < 0 || hs[i]!.load < hs[best]!.load)) best = i;
  return best < 0 ? null : hs[best]!.id;
};

export async function placementBench(opts: { decisions?: number } = {}): Promise<Row[]> {
  const decisions = opts.decisions ?? 200_000;
  const rows: Row[] = [];
  let seed = 1;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (const n of [3, 50]) {
    // As MembershipTable builds them: frozen HostInfo objects, shared by every snapshot until their host beats again.
    const infos = hosts(n).map((h) => Object.freeze(h));
    const snapshotOf = (version: number): MembershipSnapshot => Object.freeze({ version, hosts: Object.freeze([...infos]) });
    const warm = [snapshotOf(1)];
    // Over a plain copy of the array: on Node 20 indexed reads of a frozen array are several times slower.
    const plain = [{ version: 1, hosts: [...infos] }];
    const baseline = nsPerDecision(rawScan, () => plain, decisions, random);
    const row = (what: string, ns: number) =>
      rows.push({ what, colony: `${fmt(ns, 0)} ns/op`, baseline: `${fmt(baseline, 0)} ns/op scan`, ratio: `${fmt(ns / baseline, 1)}×` });
    for (const name of Object.keys(strategies) as StrategyName[]) {
      row(`${name}, ${n} hosts`, nsPerDecision(strategies[name], () => warm, decisions, random));
    }
    // The worst case: a heartbeat (so a new snapshot) between every two decisions.
    const coldBatch = Math.max(1_000, Math.floor(decisions / 20));
    for (const name of ["least-loaded", "consistent-hash"] as const) {
      const fresh = () => Array.from({ length: coldBatch }, (_, v) => snapshotOf(v + 2));
      row(`${name}, ${n} hosts, new snapshot each call`, nsPerDecision(strategies[name], fresh, coldBatch, random));
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  printTable("Placement decisions (no network)", await placementBench({ decisions: process.env.BENCH_QUICK === "1" ? 20_000 : 200_000 }));
}
