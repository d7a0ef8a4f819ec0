/**
 * A Colony cluster whose every process sits in its own network namespace
 * (netns.ts): redis-server and nats-server in a "services" namespace, the
 * directory and each host in theirs. Each process reaches Redis and NATS over
 * two separate veth links, so `cut(host, "nats" | "redis" | "both")` severs
 * exactly what it says; the test reaches each host's admin API (bound beyond
 * loopback, so behind COLONY_ADMIN_TOKEN) and Redis over links of its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import type { ColonyProcess } from "./colony-process.ts";
import { startColony } from "./colony-process.ts";
import type { Link } from "./netns.ts";
import { NetnsLab } from "./netns.ts";
import { findBinary } from "./servers.ts";
import { waitFor } from "./wait.ts";

/** Ports inside the namespaces: each namespace has its own, so nothing else can hold them. */
const REDIS_PORT = 6390;
const NATS_PORT = 4230;
const HTTP_PORT = 8080;

export type Cut = "nats" | "redis" | "both";

interface Member {
  ns: string;
  redis: Link;
  nats: Link;
  /** The test's link to its admin API (hosts only). */
  admin?: Link;
  env: Record<string, string>;
}

export interface NetnsClusterOptions {
  hosts: number;
  /** Extra env for every colony process. */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/** What a request answered; status 0 when no answer came within the timeout. */
export interface ApiResponse {
  status: number;
  body: any;
}

export class NetnsCluster implements AsyncDisposable {
  readonly token = randomBytes(16).toString("hex");
  readonly hosts = new Map<string, ColonyProcess>();
  /** Hosts' ids and what is cut now. */
  readonly cuts = new Map<string, Cut>();
  /** Redis as the test reaches it (for reading the store directly). */
  redisUrl = "";
  private readonly lab = new NetnsLab();
  private readonly members = new Map<string, Member>();
  private readonly servers: ChildProcess[] = [];
  private readonly started: ColonyProcess[] = [];
  private services = "";

  private constructor(private readonly o: NetnsClusterOptions) {}

  /** Starts services, a directory and `hosts` hosts, and waits until the directory lists every host. */
  static async start(o: NetnsClusterOptions): Promise<NetnsCluster> {
    const c = new NetnsCluster(o);
    try {
      await c.startServices();
      await c.startProcess("directory", "dir");
      const ids = Array.from({ length: o.hosts }, (_, i) => `h${i}`);
      await Promise.all(ids.map((id) => c.addHost(id)));
      await c.waitForMembers(ids, o.startTimeoutMs ?? 60_000);
    } catch (e) {
      await c[Symbol.asyncDispose]();
      throw e;
    }
    return c;
  }

  private async startServices(): Promise<void> {
    this.services = this.lab.addNamespace("svc");
    const mine = this.lab.link(null, this.services);
    this.redisUrl = `redis://${mine.addrB}:${REDIS_PORT}`;
    const run = (bin: string, args: string[]) => {
      const child = spawn(NetnsLab.execPrefix(this.services)[0]!, [...NetnsLab.execPrefix(this.services).slice(1), findBinary(bin)!, ...args], { stdio: "ignore" });
      this.servers.push(child);
    };
    run("redis-server", ["--port", String(REDIS_PORT), "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no", "--daemonize", "no"]);
    run("nats-server", ["-a", "0.0.0.0", "-p", String(NATS_PORT)]);
    await waitFor(() => greets(mine.addrB, REDIS_PORT, "PING\r\n", "+PONG"), { timeoutMs: 15_000, message: "redis-server in its namespace" });
    await waitFor(() => greets(mine.addrB, NATS_PORT, undefined, "INFO "), { timeoutMs: 15_000, message: "nats-server in its namespace" });
  }

  /** A namespace linked to the services (and, for a host, to the test), and the env that points there. */
  private wire(role: string, admin: boolean): Member {
    const ns = this.lab.addNamespace(role);
    const redis = this.lab.link(ns, this.services);
    const nats = this.lab.link(ns, this.services);
    const adminLink = admin ? this.lab.link(null, ns) : undefined;
    const env: Record<string, string> = {
      REDIS_URL: `redis://${redis.addrB}:${REDIS_PORT}`,
      NATS_URL: `nats://${nats.addrB}:${NATS_PORT}`,
      COLONY_ADMIN_TOKEN: this.token,
      COLONY_HTTP_HOST: adminLink?.addrB ?? "127.0.0.1",
      COLONY_HTTP_PORT: String(HTTP_PORT),
      LOG_LEVEL: "info",
      ...(adminLink ? { COLONY_ADVERTISE_URL: `http://${adminLink.addrB}:${HTTP_PORT}` } : {}),
      ...this.o.env,
    };
    return { ns, redis, nats, ...(adminLink ? { admin: adminLink } : {}), env };
  }

  private async startProcess(kind: "host" | "directory", id: string): Promise<ColonyProcess> {
    const m = this.members.get(id) ?? this.wire(id, kind === "host");
    this.members.set(id, m);
    const p = await startColony([kind], { ...m.env, COLONY_HOST_ID: id }, this.o.startTimeoutMs ?? 60_000, [], {
      commandPrefix: NetnsLab.execPrefix(m.ns),
      ...(m.admin ? { urlHost: m.admin.addrB } : {}),
    });
    this.started.push(p);
    return p;
  }

  async addHost(id: string): Promise<ColonyProcess> {
    const p = await this.startProcess("host", id);
    this.hosts.set(id, p);
    return p;
  }

  /** Ids of hosts whose process runs (cut or not: a cut host still serves its admin API). */
  liveHostIds(): string[] {
    return [...this.hosts].filter(([, p]) => p.child.exitCode === null && p.child.signalCode === null).map(([id]) => id);
  }

  url(hostId: string): string {
    return this.hosts.get(hostId)!.url;
  }

  /** Severs `host` from NATS, Redis or both; the test's own link to its admin API stays. */
  cut(hostId: string, what: Cut): void {
    const m = this.members.get(hostId);
    if (!m) throw new Error(`no host ${hostId}`);
    this.heal(hostId);
    if (what !== "redis") this.lab.setUp(m.nats, false);
    if (what !== "nats") this.lab.setUp(m.redis, false);
    this.cuts.set(hostId, what);
  }

  heal(hostId: string): void {
    const m = this.members.get(hostId)!;
    this.lab.setUp(m.nats, true);
    this.lab.setUp(m.redis, true);
    this.cuts.delete(hostId);
  }

  /** One admin API request with the bearer token; status 0 if nothing answered within `timeoutMs`. */
  async api(url: string, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<ApiResponse> {
    try {
      const res = await fetch(url + path, {
        method,
        headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
        signal: AbortSignal.timeout(timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    } catch {
      return { status: 0, body: undefined };
    }
  }

  /** The hosts `via` says are members (alive or draining). */
  async listedMembers(via: string): Promise<string[] | undefined> {
    const res = await this.api(this.url(via), "GET", "/v1/hosts");
    if (res.status !== 200) return undefined;
    return (res.body.hosts as { id: string; status: string }[]).filter((h) => h.status === "alive" || h.status === "draining").map((h) => h.id);
  }

  /** Waits until the directory (asked through `ids[0]`) lists exactly these hosts as members. */
  async waitForMembers(ids: string[], timeoutMs = 30_000, via = ids[0]!): Promise<void> {
    const want = [...ids].sort().join(",");
    await waitFor(async () => (await this.listedMembers(via))?.sort().join(",") === want, { timeoutMs, intervalMs: 50, message: `the directory to list exactly ${want}` });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.started.map((p) => p[Symbol.asyncDispose]()));
    for (const s of this.servers) s.kill("SIGKILL");
    await this.lab.teardown();
  }
}

/** Connects, optionally sends `send`, and resolves true once the first line starts with `expect`. */
function greets(host: string, port: number, send: string | undefined, expect: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let buf = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => send !== undefined && socket.write(send));
    socket.on("data", (chunk: Buffer) => {
      buf += chunk.toString("latin1");
      if (buf.includes("\r\n")) done(buf.startsWith(expect));
    });
  });
}
