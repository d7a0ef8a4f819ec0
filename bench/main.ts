/**
 * `npm run bench`: Colony's figures next to the raw baselines measured in the
 * same run (nact tell, ioredis SET, nats.js request/reply). Starts its own
 * redis-server and nats-server unless REDIS_URL / NATS_URL are set.
 * BENCH_QUICK=1 runs a short version; BENCH_ONLY=<section> runs one section (e.g. detection,
 * cluster); BENCH_TRACE=1 only the wall-clock breakdown of
 * one cross-host message. BENCH_AGENTS=100000 sets the memory section's agent count
 * (default 10,000; 2,000 quick); BENCH_HEAP_SNAPSHOTS=<dir> writes its heap snapshots there.
 * BENCH_AGAINST=<another checkout's root> only compares the cross-host round trip, fan-out and
 * durable throughput of this tree with that one's, both clusters running at once (see side-by-side.ts).
 */
import { startNats, startRedis } from "../test/harness/servers.ts";
import { cliBench } from "./cli.ts";
import { clusterBench } from "./cluster.ts";
import { detectionBench } from "./detection.ts";
import { hostThroughput } from "./host-throughput.ts";
import { memoryPerAgent } from "./memory.ts";
import { messageTrace } from "./message-trace.ts";
import { placementBench } from "./placement.ts";
import { snapshotWrite } from "./snapshot-write.ts";
import { sideBySide } from "./side-by-side.ts";
import { printTable } from "./stats.ts";
import { transportRtt } from "./transport-rtt.ts";

const quick = process.env.BENCH_QUICK === "1";

console.log(`# Colony bench (${quick ? "quick" : "full"}), node ${process.version}, ${new Date().toISOString()}`);
const detection = async () =>
  printTable("Failure detection (real processes: directory + 4 hosts, default timing)", await detectionBench({ agents: quick ? 10 : 30 }));
if (process.env.BENCH_TRACE === "1") {
  printTable("One cross-host message, stage by stage (p50 of each stage; % of the end-to-end p50)", await messageTrace({ messages: quick ? 200 : 1_000, warmup: quick ? 5_000 : 10_000 }));
  process.exit(0);
}
if (process.env.BENCH_AGAINST) {
  const against = process.env.BENCH_AGAINST;
  printTable(`This tree against ${against}, side by side (2 clusters at once, messages alternating)`, await sideBySide({ against, messages: quick ? 1_000 : 3_000, warmup: quick ? 5_000 : 10_000, loadMessages: quick ? 3_000 : 10_000, fanouts: quick ? 100 : 300 }));
  process.exit(0);
}
function memoryOptions(): { agents: number; snapshotDir?: string } {
  const agents = Number(process.env.BENCH_AGENTS ?? (quick ? 2_000 : 10_000));
  if (!Number.isInteger(agents) || agents <= 0) throw new Error(`BENCH_AGENTS=${process.env.BENCH_AGENTS}: a positive integer`);
  const snapshotDir = process.env.BENCH_HEAP_SNAPSHOTS;
  return snapshotDir ? { agents, snapshotDir } : { agents };
}

/** BENCH_ONLY=host|snapshot|transport|placement|cluster|detection|cli|memory runs that section alone. */
const only = process.env.BENCH_ONLY;
const sections: [string, () => Promise<void>][] = [
  ["host", async () => printTable("Host throughput (scripted model, memory store, in process)", await hostThroughput(quick ? { agents: 50, messages: 5_000, warmup: 5_000, concurrency: 32 } : { agents: 200, messages: 20_000, warmup: 20_000, concurrency: 64 }))],
  [
    "snapshot",
    async () => {
      await using redis = await startRedis();
      printTable("Checkpoints in Redis (head + new messages, fenced) and activation loads", await snapshotWrite(redis.url, { iterations: quick ? 200 : 2_000 }));
    },
  ],
  [
    "transport",
    async () => {
      await using nats = await startNats();
      printTable("Transport request/reply (NatsTransport envelope vs raw nats.js, one process)", await transportRtt(nats.url, { iterations: quick ? 300 : 2_000 }));
    },
  ],
  ["placement", async () => printTable("Placement decisions (pure, no network)", await placementBench())],
  ["cluster", async () => printTable("Cluster (real processes: directory + 3 hosts, NATS, Redis)", await clusterBench(quick ? { rtt: 200, messages: 3_000, warmup: 6_000, agents: 60, fanouts: 20 } : { rtt: 1_000, messages: 10_000, warmup: 10_000, agents: 150, fanouts: 100 }))],
  ["detection", detection],
  ["cli", async () => printTable("CLI calls against a running host (wall time, a new process each; target 300 ms)", await cliBench({ calls: quick ? 10 : 20 }))],
  ["memory", async () => printTable("Memory per idle active agent (one host process, Redis store)", await memoryPerAgent(memoryOptions()))],
];
if (only && !sections.some(([name]) => name === only)) throw new Error(`BENCH_ONLY=${only}: one of ${sections.map(([n]) => n).join(", ")}`);
for (const [name, run] of sections) if (!only || only === name) await run();
