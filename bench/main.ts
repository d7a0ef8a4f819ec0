/**
 * `npm run bench`: Colony's figures next to the raw baselines measured in the
 * same run (nact tell, ioredis SET). Starts its own redis-server unless
 * REDIS_URL is set. BENCH_QUICK=1 runs a short version.
 */
import { startRedis } from "../test/harness/servers.ts";
import { hostThroughput } from "./host-throughput.ts";
import { snapshotWrite } from "./snapshot-write.ts";
import { printTable } from "./stats.ts";

const quick = process.env.BENCH_QUICK === "1";

console.log(`# Colony bench (${quick ? "quick" : "full"}), node ${process.version}, ${new Date().toISOString()}`);
printTable("Host throughput (scripted model, memory store)", await hostThroughput(quick ? { agents: 50, messages: 2_000, concurrency: 32 } : { agents: 200, messages: 20_000, concurrency: 64 }));

await using redis = await startRedis();
printTable("Snapshot writes to Redis (fenced commit vs raw SET)", await snapshotWrite(redis.url, { iterations: quick ? 500 : 5_000 }));
