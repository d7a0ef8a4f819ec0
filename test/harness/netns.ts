/**
 * Network namespaces and veth links for partition tests (Jepsen style): each
 * process gets its own namespace, joined to the others only by point-to-point
 * veth pairs on private /30s, so a test can cut one link and leave the rest.
 *
 * Everything is created inside namespaces this run creates, with names unique
 * to the run (`colony-<pid>-<n>-<role>`); the only things in the root
 * namespace are the test's own ends of links (an address on a /30, no route
 * beyond it, no NAT). Teardown kills whatever runs in our namespaces and
 * deletes them (which deletes their links, root ends included): on dispose,
 * on process exit, on a terminating signal, and through a detached watchdog
 * even when the test process is SIGKILLed.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { findBinary } from "./servers.ts";

const IP = findBinary("ip");

/** Runs `ip <args>` and throws with its stderr when it fails. */
export function ip(...args: string[]): string {
  const res = spawnSync(IP ?? "ip", args, { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`ip ${args.join(" ")} failed (${res.status ?? res.signal}): ${res.stderr || res.error?.message}`);
  return res.stdout;
}

/**
 * Why partition tests cannot run here, or undefined when they can: they need
 * root, iproute2 with `ip netns`, redis-server and nats-server.
 */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "creating network namespaces needs root (run the test as root)";
  if (!IP) return "iproute2's `ip` is not installed (apt-get install iproute2)";
  const probe = `colony-${process.pid}-probe`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
  } catch (e) {
    return `\`ip netns add\` does not work here: ${(e as Error).message.slice(0, 200)}`;
  }
  for (const bin of ["redis-server", "nats-server"]) if (!findBinary(bin)) return `${bin} is not installed`;
  return undefined;
}

/** One veth pair: `a` in namespace `nsA` (null: the root namespace), `b` in `nsB`. */
export interface Link {
  readonly nsA: string | null;
  readonly devA: string;
  /** Address of the `a` end (x.x.x.1 of the /30). */
  readonly addrA: string;
  readonly nsB: string;
  readonly devB: string;
  readonly addrB: string;
}

let labs = 0;
const open = new Set<NetnsLab>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const lab of open) lab.teardownSync();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      for (const lab of open) lab.teardownSync();
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Second octet of 10.x.0.0/16 that no route of the root namespace touches. */
function freeSubnet(): number {
  const routes = ip("-4", "route", "show", "table", "all");
  for (let attempt = 0; attempt < 100; attempt++) {
    const b = 64 + Math.floor(Math.random() * 190);
    if (!routes.includes(`10.${b}.`) && !/(^|\s)10\.0\.0\.0\/8/.test(routes)) return b;
  }
  throw new Error("no free 10.x.0.0/16 for the test's links");
}

/** The namespaces and links of one test run; `teardown()` removes them all. */
export class NetnsLab implements AsyncDisposable {
  readonly namespaces: string[] = [];
  private readonly prefix: string;
  private readonly subnet = freeSubnet();
  private links = 0;
  private watchdog: ChildProcess | undefined;

  constructor() {
    this.prefix = `colony-${process.pid}-${++labs}`;
    installExitHooks();
    open.add(this);
  }

  /** A fresh namespace with its loopback up; its name is unique to this run. */
  addNamespace(role: string): string {
    const name = `${this.prefix}-${role}`;
    ip("netns", "add", name);
    this.namespaces.push(name);
    this.armWatchdog();
    ip("-n", name, "link", "set", "lo", "up");
    return name;
  }

  /** A veth pair on its own /30 between `nsA` (null: root) and `nsB`, both ends up. */
  link(nsA: string | null, nsB: string): Link {
    const i = this.links++;
    if (i >= 64 * 256) throw new Error("too many links");
    const net = `10.${this.subnet}.${Math.floor(i / 64)}.${(i % 64) * 4}`;
    const base = net.split(".").map(Number);
    const at = (host: number) => `${base[0]}.${base[1]}.${base[2]}.${base[3]! + host}`;
    // Root-namespace device names must be unique on the machine (15 chars at most).
    const devA = nsA === null ? `cl${(process.pid % 46656).toString(36)}x${labs.toString(36)}x${i.toString(36)}` : `v${i}a`;
    const devB = `v${i}b`;
    ip("link", "add", devA, ...(nsA ? ["netns", nsA] : []), "type", "veth", "peer", "name", devB, "netns", nsB);
    const link: Link = { nsA, devA, addrA: at(1), nsB, devB, addrB: at(2) };
    this.exec(nsA, "addr", "add", `${link.addrA}/30`, "dev", devA);
    this.exec(nsB, "addr", "add", `${link.addrB}/30`, "dev", devB);
    this.exec(nsA, "link", "set", devA, "up");
    this.exec(nsB, "link", "set", devB, "up");
    return link;
  }

  /**
   * Takes the `b` end of `link` down (or up again). The other end loses its
   * carrier but keeps its route: what it sends is dropped silently and
   * connections hang, as in a real partition, rather than failing at once.
   */
  setUp(link: Link, up: boolean): void {
    this.exec(link.nsB, "link", "set", link.devB, up ? "up" : "down");
  }

  /** `ip netns exec <ns>`, the prefix that runs a command inside `ns`. */
  static execPrefix(ns: string): string[] {
    return [IP ?? "ip", "netns", "exec", ns];
  }

  private exec(ns: string | null, ...args: string[]): void {
    ip(...(ns ? ["-n", ns] : []), ...args);
  }

  /** Kills every process inside our namespaces, then deletes them (and with them every link). */
  teardownSync(): void {
    for (const ns of this.namespaces.splice(0)) {
      try {
        const pids = ip("netns", "pids", ns).split(/\s+/).filter(Boolean).map(Number);
        for (const pid of pids) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      } catch {
        // the namespace is gone already
      }
      spawnSync(IP ?? "ip", ["netns", "del", ns]);
    }
    this.watchdog?.kill("SIGKILL");
    this.watchdog = undefined;
    open.delete(this);
  }

  async teardown(): Promise<void> {
    this.teardownSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.teardownSync();
  }

  /** A detached shell that does the teardown if the test process is SIGKILLed (no handler runs then). */
  private armWatchdog(): void {
    this.watchdog?.kill("SIGKILL");
    const script =
      'parent=$1; shift; while kill -0 "$parent" 2>/dev/null; do sleep 1; done; ' +
      'for ns in "$@"; do for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p"; done; ip netns del "$ns"; done';
    const dog = spawn("/bin/sh", ["-c", script, "netns-watchdog", String(process.pid), ...this.namespaces], { detached: true, stdio: "ignore" });
    dog.on("error", () => {});
    dog.unref();
    this.watchdog = dog;
  }
}
