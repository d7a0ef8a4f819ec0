/**
 * The Redis backends every Redis contract suite runs against: one
 * redis-server and a Redis Cluster (3 masters, 3 replicas). A suite loops
 * over `redisBackends()` instead of copying itself; each backend starts on
 * first use and `stopRedisBackends` ends them (call it in the file's afterAll).
 */
import { Cluster, Redis } from "ioredis";
import type { RedisClient } from "../../packages/actors/src/store/redis-client.ts";
import { parseRedisUrl } from "../../packages/actors/src/store/redis-url.ts";
import type { RedisClusterServer } from "./redis-cluster.ts";
import { startRedisCluster } from "./redis-cluster.ts";
import type { RedisServer } from "./servers.ts";
import { startRedis } from "./servers.ts";

export interface RedisBackend {
  /** For suite names: "real redis-server", "Redis Cluster". */
  readonly name: string;
  /** Starts the servers if not yet; resolves with a REDIS_URL for them. */
  url(): Promise<string>;
  /** A new client (closed by `stopRedisBackends`); a Cluster client for the cluster. */
  client(): Promise<RedisClient>;
}

const clients: RedisClient[] = [];
const stops: (() => Promise<void>)[] = [];

function track(client: RedisClient): RedisClient {
  clients.push(client);
  return client;
}

/** The single server (REDIS_URL's when set) and a Redis Cluster of our own. */
export function redisBackends(opts: { useEnv?: boolean } = {}): RedisBackend[] {
  let single: Promise<RedisServer> | undefined;
  let cluster: Promise<RedisClusterServer> | undefined;
  const singleUrl = async () => {
    if (!single) {
      single = startRedis({ useEnv: opts.useEnv ?? true });
      stops.push(async () => (await single)?.stop());
    }
    return (await single).url;
  };
  const clusterUrl = async () => {
    if (!cluster) {
      cluster = startRedisCluster();
      stops.push(async () => (await cluster)?.stop());
    }
    return (await cluster).url;
  };
  return [
    { name: "real redis-server", url: singleUrl, client: async () => track(new Redis(await singleUrl(), { maxRetriesPerRequest: 2 })) },
    {
      name: "Redis Cluster",
      url: clusterUrl,
      async client() {
        const target = parseRedisUrl(await clusterUrl());
        if (target.kind !== "cluster") throw new Error("not a cluster URL");
        return track(new Cluster(target.nodes, { redisOptions: { maxRetriesPerRequest: 2 } }));
      },
    },
  ];
}

/** Closes every client and stops every server the backends started. */
export async function stopRedisBackends(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.quit().then(() => undefined, () => c.disconnect())));
  await Promise.all(stops.splice(0).map((s) => s()));
}
