/**
 * A real Prometheus server (Debian package `prometheus`) for the deployment
 * tests: started on a free loopback port with a temp storage directory,
 * stopped (and its directory removed) by `stop()`, killed with the test
 * process otherwise.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { findBinary, freePort } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

export interface PrometheusServer extends AsyncDisposable {
  readonly url: string;
  readonly dir: string;
  logs(): string;
  /** GET <url><path> as JSON; throws with the body on a non-2xx answer. */
  api(pathAndQuery: string): Promise<any>;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

export function prometheusBinary(): string {
  const bin = findBinary("prometheus");
  if (!bin) {
    throw new Error(
      "prometheus was not found on PATH or in /usr/sbin, /usr/local/sbin, /sbin: install the Debian package `prometheus` " +
        "(apt-get install prometheus). The deployment tests run a real Prometheus and do not skip without one.",
    );
  }
  return bin;
}

/**
 * Writes `files` (name → content; must include prometheus.yml) into a temp
 * directory and runs Prometheus on it. Resolves once /-/ready answers 200.
 */
export async function startPrometheus(files: Record<string, string>, timeoutMs = 20_000): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  const dir = mkdtempSync(path.join(os.tmpdir(), "colony-prometheus-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(binary, dir, port, timeoutMs);
    } catch (e) {
      lastError = e;
      if (!/address already in use/i.test(String((e as Error).message))) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

async function launch(binary: string, dir: string, port: number, timeoutMs: number): Promise<PrometheusServer> {
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${path.join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${path.join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ];
  let output = "";
  const child: ChildProcess = spawn(binary, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const record = (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  };
  child.stdout!.on("data", record);
  child.stderr!.on("data", record);
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    child.once("error", (e) => resolve(`could not be started: ${e.message}`));
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const killNow = () => {
    if (!gone) child.kill("SIGKILL");
  };
  process.once("exit", killNow);

  const stop = async () => {
    process.removeListener("exit", killNow);
    if (!gone) {
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, STOP_GRACE_MS);
      });
      await Promise.race([exited, late]);
      clearTimeout(timer);
      await exited;
    }
  };

  const abort = new AbortController();
  void exited.then((how) => abort.abort(new Error(`prometheus ${how} before it was ready on ${url}. Its output:\n${output}`)));
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${url}/-/ready`);
        return res.status === 200;
      },
      { timeoutMs, intervalMs: 50, message: `prometheus to be ready on ${url}`, signal: abort.signal },
    );
  } catch (e) {
    await stop();
    throw e instanceof Error && !e.message.includes("output") ? new Error(`${e.message}\nprometheus output:\n${output}`) : e;
  }

  const server: PrometheusServer = {
    url,
    dir,
    logs: () => output,
    async api(pathAndQuery) {
      const res = await fetch(url + pathAndQuery);
      const text = await res.text();
      if (!res.ok) throw new Error(`GET ${pathAndQuery}: ${res.status} ${text}`);
      return JSON.parse(text);
    },
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
    },
  };
  return server;
}
