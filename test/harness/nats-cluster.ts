/**
 * A real NATS cluster for tests: `size` nats-server processes on free
 * loopback ports, each with explicit routes to all the others (a full mesh,
 * core NATS only: Colony uses no JetStream), and an HTTP monitoring port the
 * harness reads (/routez, /connz) to know when routes are up and who is
 * connected where.
 *
 * Like servers.ts, every node dies with the test (stop(), exit hooks, and a
 * watchdog if the test process itself is SIGKILLed); a node can be killed
 * and restarted on the same ports.
 */
import { ManagedServer, type Spec, findBinary, freePort, natsAnswers, portIsFree } from "./servers.ts";
import { waitFor } from "./wait.ts";

const LOOPBACK = "127.0.0.1";
/** What `--cluster_name` says: every node must agree on it. */
export const NATS_CLUSTER_NAME = "colony";

export interface NatsClusterNode {
  readonly index: number;
  /** `node-<index>`: its server name in /routez and the logs. */
  readonly name: string;
  /** `nats://127.0.0.1:<port>`, for clients. */
  readonly url: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly running: boolean;
  logs(): string;
}

/** One client connection as a node's /connz lists it (`name` is the client's name: a host id, "directory", a transport's name). */
export interface NatsClientInfo {
  name: string;
  cid: number;
}

export interface NatsCluster extends AsyncDisposable {
  readonly nodes: readonly NatsClusterNode[];
  /** Every node's client URL, comma-separated, as NATS_URL takes it; `order` picks and orders the nodes (default all, 0..n-1). */
  url(order?: readonly number[]): string;
  /** SIGKILLs node i (a crash; or `signal`) and waits for its process to end. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts node i again on its ports and waits until the cluster's routes are whole again. */
  restart(index: number): Promise<void>;
  /** Resolves once every running node has a route to every other running node. */
  waitForRoutes(timeoutMs?: number): Promise<void>;
  /** The client connections node i has now (its /connz). */
  clients(index: number): Promise<NatsClientInfo[]>;
  /** Stops every node for good. Idempotent. */
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Default 3. */
  size?: number;
  /** How long a node may take to serve, and the routes to form. Default 15 s. */
  startTimeoutMs?: number;
}

interface Ports {
  client: number;
  cluster: number;
  monitor: number;
}

/** 3 × size distinct free ports (the kernel could hand the same one out twice once closed). */
async function allocatePorts(size: number): Promise<Ports[]> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const out: Ports[] = [];
  for (let i = 0; i < size; i++) out.push({ client: await next(), cluster: await next(), monitor: await next() });
  return out;
}

async function monitorJson(port: number, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${LOOPBACK}:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`GET ${path} on monitor port ${port}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

function nodeSpec(binary: string, index: number, ports: readonly Ports[], startTimeoutMs: number): Spec {
  const own = ports[index]!;
  const routes = ports.filter((_, i) => i !== index).map((p) => `nats://${LOOPBACK}:${p.cluster}`);
  return {
    name: `nats-server node-${index}`,
    scheme: "nats",
    binary,
    startTimeoutMs,
    probe: natsAnswers,
    args: (port) => [
      "-a", LOOPBACK,
      "-p", String(port),
      "-n", `node-${index}`,
      "-m", String(own.monitor),
      "--cluster", `nats://${LOOPBACK}:${own.cluster}`,
      "--cluster_name", NATS_CLUSTER_NAME,
      "--routes", routes.join(","),
    ],
  };
}

/**
 * Starts a NATS cluster of `size` nodes (default 3) and resolves once every
 * node serves clients and has its routes to all the others.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const binary = findBinary("nats-server");
  if (!binary) throw new Error("nats-server was not found on PATH (Debian/Ubuntu: apt-get install nats-server); the cluster tests need it and do not skip");
  const ports = await allocatePorts(size);
  const servers = ports.map((p, i) => new ManagedServer(nodeSpec(binary, i, ports, startTimeoutMs), p.client));
  const nodes: NatsClusterNode[] = servers.map((s, i) => ({
    index: i,
    name: `node-${i}`,
    url: s.url,
    port: s.port,
    clusterPort: ports[i]!.cluster,
    monitorPort: ports[i]!.monitor,
    get running() {
      return s.running;
    },
    logs: () => s.logs(),
  }));
  const server = (i: number): ManagedServer => {
    const s = servers[i];
    if (!s) throw new Error(`no NATS node ${i} (the cluster has ${size})`);
    return s;
  };

  const cluster: NatsCluster = {
    nodes,
    url: (order = nodes.map((n) => n.index)) => order.map((i) => server(i).url).join(","),
    kill: (i, signal = "SIGKILL") => server(i).kill(signal),
    async restart(i) {
      const s = server(i);
      await s.kill("SIGTERM");
      for (const port of [ports[i]!.cluster, ports[i]!.monitor]) {
        await waitFor(() => portIsFree(port), { timeoutMs: startTimeoutMs, message: `port ${port} of node-${i} to be free` });
      }
      await s.restart();
      await cluster.waitForRoutes(startTimeoutMs);
    },
    async waitForRoutes(timeoutMs = startTimeoutMs) {
      const up = nodes.filter((n) => n.running);
      await waitFor(
        async () => {
          const counts = await Promise.all(up.map(async (n) => Number((await monitorJson(n.monitorPort, "/routez")).num_routes)));
          if (counts.some((c) => c !== up.length - 1)) throw new Error(`routes: ${up.map((n, k) => `${n.name} has ${counts[k]}`).join(", ")}`);
          return true;
        },
        { timeoutMs, intervalMs: 50, message: `every running NATS node to route to the ${up.length - 1} others` },
      );
    },
    async clients(i) {
      server(i); // throws for an index out of range
      const body = await monitorJson(ports[i]!.monitor, "/connz?limit=1024");
      return ((body.connections ?? []) as Array<{ name?: string; cid: number }>).map((c) => ({ name: c.name ?? "", cid: c.cid }));
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
    async [Symbol.asyncDispose]() {
      await cluster.stop();
    },
  };

  try {
    await Promise.all(servers.map((s) => s.launch()));
    await cluster.waitForRoutes();
  } catch (e) {
    await cluster.stop();
    if (e instanceof Error) e.message += `\n${nodes.map((n) => `--- ${n.name}:\n${n.logs().slice(-1_500)}`).join("\n")}`;
    throw e;
  }
  return cluster;
}
