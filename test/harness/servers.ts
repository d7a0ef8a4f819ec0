/**
 * Real Redis and NATS servers for integration, cluster and chaos tests.
 *
 * Each `start*()` runs its own server on a free loopback port (so a test can
 * kill and restart it), or, when REDIS_URL / NATS_URL is set, uses that
 * server instead (then `external` is true and it cannot be killed or
 * restarted). When neither is possible it fails with a message naming the
 * Debian package to install or the variable to set: it never skips.
 *
 * Servers started here die with the test process: on `stop()`, on process
 * exit or a terminating signal, and, through a small watchdog, even when the
 * test process is killed outright.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { waitFor } from "./wait.ts";

// Node 20.20 has Symbol.asyncDispose; older runtimes get the well-known
// registry symbol that TypeScript's `await using` helpers also fall back to.
if (typeof (Symbol as { asyncDispose?: symbol }).asyncDispose !== "symbol") {
  Object.defineProperty(Symbol, "asyncDispose", { value: Symbol.for("Symbol.asyncDispose") });
}

export interface TestServer extends AsyncDisposable {
  /** `redis://127.0.0.1:<port>` or `nats://127.0.0.1:<port>` (or the env var's value). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** True when the server came from REDIS_URL / NATS_URL: it is not ours to kill. */
  readonly external: boolean;
  /** The server's process id while it runs (undefined when external or down). */
  readonly pid: number | undefined;
  /** Whether our server process is up (always true for an external server). */
  readonly running: boolean;
  /** Stops the server for good (SIGTERM, SIGKILL after a grace period) and removes its files. Idempotent. */
  stop(): Promise<void>;
  /** Sends a signal (default SIGKILL, a crash) and waits for the process to exit; `restart()` brings it back. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server if it runs and starts it again on the same port; resolves once it serves. */
  restart(): Promise<void>;
  /** The server's recent output, for failure messages. */
  logs(): string;
}

export type RedisServer = TestServer;
export type NatsServer = TestServer;

export interface StartOptions {
  /** Use REDIS_URL / NATS_URL when set (default true). Tests that kill or restart the server pass false. */
  useEnv?: boolean;
  /** How long the server may take to come up. Default 10 s. */
  startTimeoutMs?: number;
}

export interface RedisStartOptions extends StartOptions {
  /**
   * Keep data across `kill()`/`restart()` (append-only file, fsync always).
   * Default false: `--save "" --appendonly no`, and a restart starts empty.
   */
  persistent?: boolean;
}

/** How long a SIGTERM'd server gets before SIGKILL. */
const STOP_GRACE_MS = 3_000;
const LOOPBACK = "127.0.0.1";
const EXTRA_BIN_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/local/bin", "/usr/bin"];

/** A port nobody listens on right now, from the kernel's ephemeral range. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port assigned"))));
    });
  });
}

/** True if nothing listens on the loopback port (we could bind it). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, LOOPBACK, () => srv.close(() => resolve(true)));
  });
}

/** The absolute path of an executable, searched on PATH and in the sbin directories; undefined if absent. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True if a process with this pid exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // "pid (comm) S ..." — the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no procfs: kill(0) said it exists
  }
}

// ---------------------------------------------------------------- probes

/** Connects, optionally writes `send`, and resolves with the first line the server sends back. */
function firstLine(host: string, port: number, send: string | undefined, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buf = "";
    const done = (err: Error | undefined, line?: string) => {
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      if (err) reject(err);
      else resolve(line!);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)));
    socket.once("error", (e) => done(e));
    socket.once("connect", () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on("data", (chunk: Buffer) => {
      buf += chunk.toString("latin1");
      const nl = buf.indexOf("\r\n");
      if (nl >= 0) done(undefined, buf.slice(0, nl));
    });
    socket.once("end", () => done(new Error(`${host}:${port} closed the connection`)));
  });
}

/** Redis is serving once it answers PING (NOAUTH also proves a live server; LOADING does not). */
async function redisAnswers(host: string, port: number): Promise<boolean> {
  const line = await firstLine(host, port, "PING\r\n");
  if (line === "+PONG" || line.startsWith("-NOAUTH")) return true;
  throw new Error(`PING answered ${JSON.stringify(line)}`);
}

/** nats-server greets every client with an INFO line once it accepts clients. */
export async function natsAnswers(host: string, port: number): Promise<boolean> {
  const line = await firstLine(host, port, undefined);
  if (line.startsWith("INFO ")) return true;
  throw new Error(`expected an INFO greeting, got ${JSON.stringify(line.slice(0, 80))}`);
}

// ---------------------------------------------------------------- process bookkeeping

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** Children die with the test process, whether it exits or is told to terminate. */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllNow);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      killAllNow();
      // If we were the only listener, Node would have terminated: do so.
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * A detached shell that SIGKILLs `pid` once the test process is gone, for
 * the one case no handler sees: the test process being SIGKILLed itself.
 */
function spawnWatchdog(pid: number): ChildProcess {
  const script = 'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill -KILL "$1" 2>/dev/null';
  const dog = spawn("/bin/sh", ["-c", script, String(process.pid), String(pid)], { detached: true, stdio: "ignore" });
  dog.on("error", () => {});
  dog.unref();
  return dog;
}

// ---------------------------------------------------------------- managed servers

/** How to run one kind of server (exported for nats-cluster.ts, which picks its ports itself). */
export interface Spec {
  name: string;
  scheme: "redis" | "nats";
  binary: string;
  args(port: number): string[];
  probe(host: string, port: number): Promise<boolean>;
  startTimeoutMs: number;
  cleanup?(): void;
}

const MAX_LOG_CHARS = 8_000;

export class ManagedServer implements TestServer {
  readonly external = false;
  readonly host = LOOPBACK;
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = "";
  private stopped = false;

  constructor(
    private readonly spec: Spec,
    readonly port: number,
  ) {}

  get url(): string {
    return `${this.spec.scheme}://${LOOPBACK}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  logs(): string {
    return this.output;
  }

  private record(chunk: Buffer | string): void {
    this.output += chunk.toString();
    if (this.output.length > MAX_LOG_CHARS) this.output = this.output.slice(-MAX_LOG_CHARS);
  }

  /** Spawns the server and resolves once it serves; rejects (with its output) if it exits first. */
  async launch(): Promise<void> {
    if (this.stopped) throw new Error(`${this.spec.name} on port ${this.port} was stopped for good; start a new one`);
    if (this.child) throw new Error(`${this.spec.name} on port ${this.port} is already running`);
    installExitHooks();
    const args = this.spec.args(this.port);
    this.record(`$ ${this.spec.binary} ${args.join(" ")}\n`);
    const child = spawn(this.spec.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (c) => this.record(c));
    child.stderr!.on("data", (c) => this.record(c));
    this.child = child;
    live.add(child);
    if (child.pid !== undefined) this.watchdog = spawnWatchdog(child.pid);

    // "gone" settles once, when the process exits or could not be spawned at all.
    let gone!: (how: string) => void;
    const goneHow = new Promise<string>((resolve) => (gone = resolve));
    child.once("exit", (code, signal) => gone(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    child.once("error", (e) => {
      if (child.pid === undefined) gone(`could not be started (${this.spec.binary}: ${e.message})`);
    });
    this.exited = goneHow.then(() => {
      live.delete(child);
      if (this.child === child) this.child = undefined;
      this.watchdog?.kill("SIGKILL");
      this.watchdog = undefined;
    });

    const abort = new AbortController();
    const failure = goneHow.then((how) => {
      const e = new Error(`${this.spec.name} ${how} before it served on ${LOOPBACK}:${this.port}. Its output:\n${this.output}`);
      abort.abort(e);
      throw e;
    });
    failure.catch(() => {});
    try {
      await Promise.race([
        waitFor(() => this.spec.probe(LOOPBACK, this.port), {
          timeoutMs: this.spec.startTimeoutMs,
          intervalMs: 25,
          message: `${this.spec.name} to serve on ${LOOPBACK}:${this.port}`,
          signal: abort.signal,
        }),
        failure,
      ]);
    } catch (e) {
      abort.abort();
      await this.terminate("SIGKILL");
      if (e instanceof Error && !e.message.includes("Its output:")) e.message += `\n${this.spec.name} output:\n${this.output}`;
      throw e;
    }
    abort.abort();
    // A running server must not keep the test process alive; the exit hooks end it.
    child.unref();
    for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  }

  /** Sends `signal`, waits for exit, SIGKILLs after the grace period. */
  private async terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = this.exited;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
    });
    const clean = await Promise.race([exited.then(() => true), graceOver]);
    clearTimeout(timer);
    if (!clean) {
      child.kill("SIGKILL");
      await exited;
    }
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.terminate(signal);
  }

  async restart(): Promise<void> {
    await this.terminate("SIGTERM");
    await waitFor(() => portIsFree(this.port), {
      timeoutMs: this.spec.startTimeoutMs,
      message: `port ${this.port} to be free for ${this.spec.name} to restart`,
    });
    await this.launch();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.terminate("SIGTERM");
    this.spec.cleanup?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts a managed server on a fresh free port, retrying with another port if one is taken meanwhile. */
async function startManaged(spec: Spec): Promise<ManagedServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = new ManagedServer(spec, await freePort());
    try {
      await server.launch();
      return server;
    } catch (e) {
      lastError = e;
      if (!/address already in use/i.test(String((e as Error).message))) break;
    }
  }
  spec.cleanup?.();
  throw lastError;
}

class ExternalServer implements TestServer {
  readonly external = true;
  readonly pid = undefined;
  readonly running = true;
  readonly host: string;
  readonly port: number;

  constructor(
    readonly url: string,
    private readonly envVar: string,
    defaultPort: number,
  ) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(u.port || defaultPort);
  }

  logs(): string {
    return `(external server from ${this.envVar})`;
  }

  async stop(): Promise<void> {
    // Not ours: leave it running.
  }

  private refuse(what: string): Promise<never> {
    return Promise.reject(
      new Error(`cannot ${what} the external server ${this.url} (${this.envVar} is set); start the harness with {useEnv: false} so it runs its own`),
    );
  }

  kill(): Promise<void> {
    return this.refuse("kill");
  }

  restart(): Promise<void> {
    return this.refuse("restart");
  }

  async [Symbol.asyncDispose](): Promise<void> {}
}

async function useExternal(
  envVar: string,
  url: string,
  defaultPort: number,
  probe: (host: string, port: number) => Promise<boolean>,
  timeoutMs: number,
): Promise<TestServer> {
  let server: ExternalServer;
  try {
    server = new ExternalServer(url, envVar, defaultPort);
  } catch {
    throw new Error(`${envVar}=${url} is not a valid URL`);
  }
  await waitFor(() => probe(server.host, server.port), {
    timeoutMs,
    message: `the server named by ${envVar}=${url} to answer`,
  });
  return server;
}

function missing(binary: string, pkg: string, envVar: string, example: string): Error {
  return new Error(
    `${binary} was not found on PATH or in ${EXTRA_BIN_DIRS.slice(0, 3).join(", ")}. ` +
      `Install it (Debian/Ubuntu: apt-get install ${pkg}) or set ${envVar} to a running server (e.g. ${envVar}=${example}). ` +
      `These tests need a real server and do not skip without one.`,
  );
}

/** A Redis server: `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no` in a temp dir, or REDIS_URL. */
export async function startRedis(options: RedisStartOptions = {}): Promise<RedisServer> {
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const envUrl = process.env.REDIS_URL;
  if ((options.useEnv ?? true) && envUrl) return useExternal("REDIS_URL", envUrl, 6379, redisAnswers, timeoutMs);
  return startRedisProcess(
    (port, dir) => [
      "--port", String(port),
      "--bind", LOOPBACK,
      "--dir", dir,
      "--save", "",
      ...(options.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
      "--daemonize", "no",
      "--logfile", "",
    ],
    { startTimeoutMs: timeoutMs },
  );
}

/** A NATS server: `nats-server -a 127.0.0.1 -p P` (core NATS, no JetStream), or NATS_URL. */
export async function startNats(options: StartOptions = {}): Promise<NatsServer> {
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const envUrl = process.env.NATS_URL;
  if ((options.useEnv ?? true) && envUrl) {
    // NATS_URL may list several servers; the harness waits on the first.
    return useExternal("NATS_URL", envUrl.split(",")[0]!.trim(), 4222, natsAnswers, timeoutMs);
  }
  const binary = findBinary("nats-server");
  if (!binary) throw missing("nats-server", "nats-server", "NATS_URL", "nats://127.0.0.1:4222");
  return startManaged({
    name: "nats-server",
    scheme: "nats",
    binary,
    startTimeoutMs: timeoutMs,
    probe: natsAnswers,
    args: (port) => ["-a", LOOPBACK, "-p", String(port)],
  });
}

/**
 * A redis-server of ours (never REDIS_URL) run with `args(port, dir)`: the
 * nodes of a Redis Cluster or a Sentinel set (test/harness/redis-cluster.ts).
 * `dir` is its own temp dir, kept across `kill()`/`restart()` (a cluster
 * node's nodes.conf lives there) and removed on `stop()`.
 */
export async function startRedisProcess(args: (port: number, dir: string) => string[], options: { startTimeoutMs?: number } = {}): Promise<RedisServer> {
  const binary = findBinary("redis-server");
  if (!binary) throw missing("redis-server", "redis-server", "REDIS_URL", "redis://127.0.0.1:6379");
  const dir = mkdtempSync(path.join(os.tmpdir(), "colony-redis-"));
  return startManaged({
    name: "redis-server",
    scheme: "redis",
    binary,
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    probe: redisAnswers,
    args: (port) => args(port, dir),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
}
