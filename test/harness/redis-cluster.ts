/**
 * A real Redis Cluster (3 masters, 3 replicas) and a real Sentinel set (1
 * master, 1 or more replicas, 3 sentinels) on free loopback ports, for tests that
 * hold Colony to the same guarantees there as on one redis-server.
 *
 * Every node is a redis-server of ours (servers.ts startRedisProcess): it
 * dies with the test (exit hooks, watchdog), `kill(i)` is a real SIGKILL,
 * and `stop()` removes the nodes' temp dirs. Nodes keep no data on disk
 * (`--save "" --appendonly no`): a killed master's writes survive only on
 * its replica, as in production without persistence.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import type { RedisServer } from "./servers.ts";
import { findBinary, freePort, startRedisProcess } from "./servers.ts";
import { waitFor } from "./wait.ts";

/** How long a silent node takes to be marked failed (redis default 15 s): failover takes about this plus an election. */
export const CLUSTER_NODE_TIMEOUT_MS = 1_000;
const LOOPBACK = "127.0.0.1";

/** One line of CLUSTER NODES. */
export interface ClusterNode {
  id: string;
  port: number;
  flags: string[];
  /** The master's id for a replica. */
  masterId: string | undefined;
  /** Slot ranges ("0-5460"). */
  slots: string[];
}

export interface RedisClusterServer extends AsyncDisposable {
  /** `redis+cluster://127.0.0.1:p1,...` for REDIS_URL. */
  readonly url: string;
  /** The six nodes by index (servers, killable and restartable one by one). */
  readonly nodes: readonly RedisServer[];
  /** CLUSTER NODES as seen by a live node. */
  topology(): Promise<ClusterNode[]>;
  /** Indices of the nodes that are masters with slots and not failed. */
  masters(): Promise<number[]>;
  /** Index of a replica of the master at `masterIndex`, if it has one. */
  replicaOf(masterIndex: number): Promise<number | undefined>;
  /** SIGKILLs node `index` (a crash: no failover is started for it). */
  kill(index: number): Promise<void>;
  /** Waits until node `index`'s former slots are served by a live master again and the cluster is ok; returns that master's index. */
  waitForPromotion(slotsOf: ClusterNode, timeoutMs?: number): Promise<number>;
  /** CLUSTER FAILOVER on the replica: a planned switch-over, no write lost. */
  failover(replicaIndex: number): Promise<void>;
  /** Waits until every live node reports cluster_state:ok and every live replica's link to its master is up (its initial sync done). */
  waitOk(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A one-off admin connection to one node (no retries: a dead node fails the call). */
async function onNode<T>(node: RedisServer, work: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(node.port, LOOPBACK, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  r.on("error", () => {});
  try {
    await r.connect();
    return await work(r);
  } finally {
    r.disconnect();
  }
}

function parseNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id, addr, flags, master, , , , , ...slots] = line.trim().split(" ");
      return { id: id!, port: Number(addr!.split("@")[0]!.split(":").pop()), flags: flags!.split(","), masterId: master === "-" ? undefined : master, slots };
    });
}

function run(binary: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${binary} ${args.join(" ")} exited ${code}:\n${out}`));
    });
  });
}

const nodeArgs = (busPort: number) => (port: number, dir: string) => [
  "--port", String(port),
  "--bind", LOOPBACK,
  "--dir", dir,
  "--save", "",
  "--appendonly", "no",
  "--cluster-enabled", "yes",
  "--cluster-config-file", "nodes.conf",
  "--cluster-port", String(busPort),
  "--cluster-node-timeout", String(CLUSTER_NODE_TIMEOUT_MS),
  // A replica may take over however long since it heard from its master (a loaded machine).
  "--cluster-replica-validity-factor", "0",
  // The other masters' slots keep serving while one master is down.
  "--cluster-require-full-coverage", "no",
  // A replica's first sync starts at once, not after Redis 7's default 5 s wait for more replicas to share it.
  "--repl-diskless-sync-delay", "0",
  "--daemonize", "no",
  "--logfile", "",
];

/** Starts six nodes and joins them as 3 masters with one replica each; resolves once every node says cluster_state:ok and the topology shows each master's replica. */
export async function startRedisCluster(opts: { startTimeoutMs?: number } = {}): Promise<RedisClusterServer> {
  const cli = findBinary("redis-cli");
  if (!cli) throw new Error("redis-cli was not found (Debian/Ubuntu: apt-get install redis-tools); the Redis Cluster tests need it and do not skip");
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < 6; i++) nodes.push(await startRedisProcess(nodeArgs(await freePort()), opts));
    const addrs = nodes.map((n) => `${LOOPBACK}:${n.port}`);
    await run(cli, ["--cluster", "create", ...addrs, "--cluster-replicas", "1", "--cluster-yes"], 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  const live = () => nodes.filter((n) => n.running);
  const indexOfPort = (port: number) => nodes.findIndex((n) => n.port === port);
  const cluster: RedisClusterServer = {
    url: `redis+cluster://${nodes.map((n) => `${LOOPBACK}:${n.port}`).join(",")}`,
    nodes,
    topology: () => onNode(live()[0]!, async (r) => parseNodes(String(await r.call("CLUSTER", "NODES")))),
    async masters() {
      const t = await cluster.topology();
      return t.filter((n) => n.flags.includes("master") && !n.flags.includes("fail") && n.slots.length > 0).map((n) => indexOfPort(n.port));
    },
    async replicaOf(masterIndex) {
      const t = await cluster.topology();
      const master = t.find((n) => n.port === nodes[masterIndex]!.port);
      const replica = t.find((n) => n.masterId === master?.id && !n.flags.includes("fail"));
      return replica ? indexOfPort(replica.port) : undefined;
    },
    async kill(index) {
      await nodes[index]!.kill("SIGKILL");
    },
    async waitForPromotion(old, timeoutMs = 30_000) {
      let promoted = -1;
      await waitFor(
        async () => {
          const t = await cluster.topology();
          const now = t.find((n) => n.flags.includes("master") && !n.flags.includes("fail") && n.port !== old.port && n.slots.join(" ") === old.slots.join(" "));
          if (!now) return false;
          promoted = indexOfPort(now.port);
          return true;
        },
        { timeoutMs, intervalMs: 50, message: `a replica to take over slots ${old.slots.join(" ")} of port ${old.port}` },
      );
      await cluster.waitOk(timeoutMs);
      return promoted;
    },
    async failover(replicaIndex) {
      await onNode(nodes[replicaIndex]!, (r) => r.call("CLUSTER", "FAILOVER"));
    },
    async waitOk(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const states = await Promise.all(live().map((n) => onNode(n, async (r) => `${String(await r.call("CLUSTER", "INFO"))}${await r.info("replication")}`)));
          // A replica promoted before its first sync finished would serve its slots empty.
          return states.every((s) => s.includes("cluster_state:ok") && (s.includes("role:master") || s.includes("master_link_status:up")));
        },
        { timeoutMs, intervalMs: 50, message: "every live node to report cluster_state:ok, every replica in sync" },
      );
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  try {
    const timeoutMs = opts.startTimeoutMs ?? 30_000;
    await cluster.waitOk(timeoutMs);
    // Each replica's own link is up, but the node `topology()` asks learns of its role by gossip, later on a loaded machine.
    await waitFor(
      async () => {
        const t = await cluster.topology();
        const masters = t.filter((n) => n.flags.includes("master") && n.slots.length > 0);
        return masters.length === 3 && masters.every((m) => t.some((n) => n.masterId === m.id && !n.flags.includes("fail")));
      },
      { timeoutMs, intervalMs: 50, message: "the topology to show 3 masters with a replica each" },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return cluster;
}

export interface RedisSentinelSet extends AsyncDisposable {
  /** `redis+sentinel://127.0.0.1:s1,...?name=<name>` for REDIS_URL. */
  readonly url: string;
  readonly name: string;
  /** The master the set started with (the sentinels may have promoted another since). */
  readonly master: RedisServer;
  /** The first replica the set started with. */
  readonly replica: RedisServer;
  /** Every replica the set started with. */
  readonly replicas: readonly RedisServer[];
  readonly sentinels: readonly RedisServer[];
  /** The port the sentinels name as master now. */
  masterPort(): Promise<number>;
  /**
   * Waits until the sentinels name a master other than port `oldPort`, it
   * says role:master, and (with `replicasInSync`) that many live replicas
   * follow it with their link up (their sync from it done); returns it.
   */
  waitForPromotion(oldPort: number, opts?: { timeoutMs?: number; replicasInSync?: number }): Promise<RedisServer>;
  stop(): Promise<void>;
}

/** How long sentinels wait on a failover before trying again (the redis default is 3 minutes). */
const SENTINEL_FAILOVER_TIMEOUT_MS = 5_000;

/** The lines of one sentinel's config: watch `masterPort`, quorum 2, down after CLUSTER_NODE_TIMEOUT_MS. */
const sentinelConf = (name: string, masterPort: number) => (port: number, dir: string) => [
  `port ${port}`,
  `bind ${LOOPBACK}`,
  `dir ${dir}`,
  `sentinel monitor ${name} ${LOOPBACK} ${masterPort} 2`,
  `sentinel down-after-milliseconds ${name} ${CLUSTER_NODE_TIMEOUT_MS}`,
  `sentinel failover-timeout ${name} ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
  "",
];

/** One master, `replicas` replicas (default 1), three sentinels (quorum 2, down-after CLUSTER_NODE_TIMEOUT_MS); resolves once every sentinel knows every replica. */
export async function startRedisSentinel(opts: { startTimeoutMs?: number; replicas?: number } = {}): Promise<RedisSentinelSet> {
  const name = "colony";
  const started: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(started.map((n) => n.stop()));
  };
  // No repl-diskless-sync-delay: a replica's first sync starts at once (Redis 7 waits 5 s by default, during which WAIT 1 times out).
  const base = (port: number, dir: string) => ["--port", String(port), "--bind", LOOPBACK, "--dir", dir, "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0", "--daemonize", "no", "--logfile", ""];
  try {
    const master = await startRedisProcess(base, opts);
    started.push(master);
    const replicas: RedisServer[] = [];
    for (let i = 0; i < (opts.replicas ?? 1); i++) {
      const replica = await startRedisProcess((p, d) => [...base(p, d), "--replicaof", LOOPBACK, String(master.port)], opts);
      started.push(replica);
      replicas.push(replica);
    }
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await startRedisProcess((port, dir) => {
        const conf = path.join(dir, "sentinel.conf");
        writeFileSync(conf, sentinelConf(name, master.port)(port, dir).join("\n"));
        return [conf, "--sentinel"];
      }, opts);
      started.push(s);
      sentinels.push(s);
    }
    const servers = [master, ...replicas];
    const set: RedisSentinelSet = {
      url: `redis+sentinel://${sentinels.map((s) => `${LOOPBACK}:${s.port}`).join(",")}/?name=${name}`,
      name,
      master,
      replica: replicas[0]!,
      replicas,
      sentinels,
      async masterPort() {
        const live = sentinels.find((s) => s.running)!;
        return onNode(live, async (r) => Number(((await r.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as string[])[1]));
      },
      async waitForPromotion(oldPort, { timeoutMs = 30_000, replicasInSync = 0 } = {}) {
        let promoted: RedisServer | undefined;
        await waitFor(
          async () => {
            const port = await set.masterPort();
            const now = servers.find((n) => n.port === port && n.port !== oldPort && n.running);
            if (!now || !(await onNode(now, (r) => r.info("replication"))).includes("role:master")) return false;
            const following = await Promise.all(
              servers.filter((n) => n !== now && n.running).map((n) => onNode(n, (r) => r.info("replication")).catch(() => "")),
            );
            promoted = now;
            return following.filter((s) => s.includes(`master_port:${now.port}`) && s.includes("master_link_status:up")).length >= replicasInSync;
          },
          { timeoutMs, intervalMs: 50, message: `the sentinels to promote a replica of port ${oldPort} (with ${replicasInSync} replicas in sync)` },
        );
        return promoted!;
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
    await waitFor(
      async () => {
        const counts = await Promise.all(sentinels.map((s) => onNode(s, async (r) => ((await r.call("SENTINEL", "REPLICAS", name)) as unknown[]).length)));
        return counts.every((c) => c === replicas.length);
      },
      { timeoutMs: opts.startTimeoutMs ?? 30_000, intervalMs: 100, message: "every sentinel to know every replica" },
    );
    // Known is not synced: until a replica's link is up, WAIT counts it out.
    await waitFor(
      async () => (await Promise.all(replicas.map((n) => onNode(n, (r) => r.info("replication"))))).every((info) => info.includes("master_link_status:up")),
      { timeoutMs: opts.startTimeoutMs ?? 30_000, intervalMs: 50, message: "every replica to finish its first sync with the master" },
    );
    return set;
  } catch (e) {
    await stop();
    throw e;
  }
}
