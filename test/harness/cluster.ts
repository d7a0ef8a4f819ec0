import type { ColonyProcess } from "./colony-process.ts";
import { http, startColony } from "./colony-process.ts";
import { FaultProxy } from "./fault-proxy.ts";
import type { NatsServer, RedisServer, TestServer } from "./servers.ts";
import { startNats, startRedis } from "./servers.ts";
import { waitFor } from "./wait.ts";

export interface ProcessClusterOptions {
  hosts: number;
  directories?: number;
  /** Extra env for every process (e.g. COLONY_IDLE_MS). */
  env?: Record<string, string>;
  /** Start our own servers even if REDIS_URL / NATS_URL are set (tests that kill them). */
  ownServers?: boolean;
  /** Processes reach Redis and NATS through fault proxies (cluster.redisProxy / natsProxy) that can lose replies. */
  faultProxies?: boolean;
  /** How long a process may take to serve HTTP. Default 20 s (colony-process.ts). */
  startTimeoutMs?: number;
  /** Node flags for the host processes (e.g. --cpu-prof for a bench). */
  hostNodeArgs?: string[];
  /** Another checkout's colony bin for every process (a bench comparing two trees side by side). */
  bin?: string;
  /**
   * Servers the test runs itself (a NATS cluster's comma-separated URLs, a
   * Redis Cluster URL): the processes get these instead of a redis-server /
   * nats-server started here. The cluster neither kills nor stops them.
   */
  backends?: { redisUrl?: string; natsUrl?: string };
  /** Extra env for the i-th host started with the cluster (e.g. its own NATS_URL order); kept across restartHost. */
  hostEnv?: (index: number) => Record<string, string>;
}

export interface ProcessCluster extends AsyncDisposable {
  readonly redis: RedisServer;
  readonly nats: NatsServer;
  /** Between the processes and Redis / NATS, with `faultProxies`. */
  readonly redisProxy: FaultProxy | undefined;
  readonly natsProxy: FaultProxy | undefined;
  readonly directories: ColonyProcess[];
  /** Hosts by id; killed ones stay here (their process has exited). */
  readonly hosts: Map<string, ColonyProcess>;
  /** Ids of hosts whose process is still running. */
  liveHostIds(): string[];
  /** A running host chosen at random (or the given one). */
  url(hostId?: string): string;
  addHost(id?: string, env?: Record<string, string>): Promise<ColonyProcess>;
  /** Stops a host the hard way (SIGKILL) and waits for the process to end. */
  kill(hostId: string): Promise<void>;
  /** Starts a host again with the same id and env (a StatefulSet's restart), after `signal` (default SIGKILL) ended it. */
  restartHost(hostId: string, signal?: NodeJS.Signals): Promise<ColonyProcess>;
  /** Kills directory replica `index` (SIGKILL) and starts it again with the same id. */
  restartDirectory(index: number): Promise<ColonyProcess>;
  /** Waits until the directory lists exactly these live hosts. */
  waitForMembers(ids: string[], timeoutMs?: number): Promise<void>;
  env(): Record<string, string>;
}

let seq = 0;

/** A server handed in through `backends`: it is the test's, so it cannot be killed or restarted from here. */
function given(url: string, what: string): TestServer {
  const refuse = (verb: string) => Promise.reject(new Error(`cannot ${verb} ${what}: it was given through backends; the test that started it controls it`));
  return {
    url,
    host: "",
    port: 0,
    external: true,
    pid: undefined,
    running: true,
    stop: async () => {},
    kill: () => refuse("kill"),
    restart: () => refuse("restart"),
    logs: () => `(${what} given through backends)`,
    [Symbol.asyncDispose]: async () => {},
  };
}

/**
 * Real processes: a redis-server and a nats-server from the harness, the
 * directory replicas and the hosts as `colony` child processes, just as an
 * operator runs them. Killing one is a real SIGKILL.
 */
export async function startProcessCluster(o: ProcessClusterOptions): Promise<ProcessCluster> {
  const useEnv = !o.ownServers;
  const launch = o.bin ? { bin: o.bin } : {};
  if (o.faultProxies && (o.backends?.redisUrl || o.backends?.natsUrl)) throw new Error("faultProxies need servers started here, not backends");
  const redis = o.backends?.redisUrl ? given(o.backends.redisUrl, "Redis") : await startRedis({ useEnv });
  const nats = o.backends?.natsUrl ? given(o.backends.natsUrl, "NATS") : await startNats({ useEnv });
  const redisProxy = o.faultProxies ? await FaultProxy.start({ target: redis }) : undefined;
  const natsProxy = o.faultProxies ? await FaultProxy.start({ target: nats }) : undefined;
  const env = (): Record<string, string> => ({
    REDIS_URL: redisProxy?.url("redis") ?? redis.url,
    NATS_URL: natsProxy?.url("nats") ?? nats.url,
    LOG_LEVEL: "info",
    ...o.env,
  });
  const directories: ColonyProcess[] = [];
  const hosts = new Map<string, ColonyProcess>();
  const hostEnv = new Map<string, Record<string, string>>();
  const directoryIds: string[] = [];
  const tag = `${process.pid}x${++seq}`;
  const started: ColonyProcess[] = [];
  const cluster: ProcessCluster = {
    redis,
    nats,
    redisProxy,
    natsProxy,
    directories,
    hosts,
    env,
    liveHostIds: () => [...hosts].filter(([, p]) => p.child.exitCode === null && p.child.signalCode === null).map(([id]) => id),
    url(hostId) {
      const ids = hostId ? [hostId] : cluster.liveHostIds();
      const id = ids[Math.floor(Math.random() * ids.length)];
      if (!id) throw new Error("no live host");
      return hosts.get(id)!.url;
    },
    async addHost(id = `h${hosts.size}-${tag}`, extra = {}) {
      if (hosts.has(id)) throw new Error(`host ${id} exists`);
      const p = await startColony(["host"], { ...env(), ...extra, COLONY_HOST_ID: id }, o.startTimeoutMs, o.hostNodeArgs, launch);
      started.push(p);
      hosts.set(id, p);
      hostEnv.set(id, extra);
      return p;
    },
    async restartHost(hostId, signal = "SIGKILL") {
      const old = hosts.get(hostId);
      if (!old) throw new Error(`no host ${hostId}`);
      old.signal(signal);
      await old.exited;
      const p = await startColony(["host"], { ...env(), ...hostEnv.get(hostId), COLONY_HOST_ID: hostId }, o.startTimeoutMs, o.hostNodeArgs, launch);
      started.push(p);
      hosts.set(hostId, p);
      return p;
    },
    async restartDirectory(index) {
      const old = directories[index];
      if (!old) throw new Error(`no directory ${index}`);
      old.signal("SIGKILL");
      await old.exited;
      const p = await startColony(["directory"], { ...env(), COLONY_HOST_ID: directoryIds[index]! }, o.startTimeoutMs, [], launch);
      started.push(p);
      directories[index] = p;
      return p;
    },
    async kill(hostId) {
      const p = hosts.get(hostId);
      if (!p) throw new Error(`no host ${hostId}`);
      p.signal("SIGKILL");
      await p.exited;
    },
    async waitForMembers(ids, timeoutMs = 10_000) {
      const want = [...ids].sort().join(",");
      await waitFor(
        async () => {
          const res = await http(cluster.url(ids[0]), "GET", "/v1/hosts");
          const alive = (res.body.hosts as { id: string; status: string }[]).filter((h) => h.status === "alive" || h.status === "draining").map((h) => h.id);
          return alive.sort().join(",") === want;
        },
        { timeoutMs, message: `the directory to list exactly ${want}` },
      );
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(started.map((p) => p[Symbol.asyncDispose]()));
      await redisProxy?.close();
      await natsProxy?.close();
      await nats.stop();
      await redis.stop();
    },
  };
  try {
    for (let i = 0; i < (o.directories ?? 1); i++) {
      directoryIds.push(`dir${i}-${tag}`);
      const d = await startColony(["directory"], { ...env(), COLONY_HOST_ID: directoryIds[i]! }, o.startTimeoutMs, [], launch);
      started.push(d);
      directories.push(d);
    }
    // allSettled: every host that did start is in `started` before a failure disposes the cluster.
    const starts = await Promise.allSettled(Array.from({ length: o.hosts }, (_, i) => cluster.addHost(`h${i}-${tag}`, o.hostEnv?.(i))));
    const failed = starts.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    await cluster.waitForMembers([...hosts.keys()], o.startTimeoutMs);
  } catch (e) {
    await cluster[Symbol.asyncDispose]();
    throw e;
  }
  return cluster;
}
