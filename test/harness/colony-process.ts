import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The `colony` bin a user runs: packages/*\/dist when built and current (the tests' global setup builds it), else the sources through tsx. */
export const BIN = fileURLToPath(new URL("../../packages/host/bin/colony.js", import.meta.url));
/** Preloaded into every child: it SIGKILLs itself when the test process dies without cleaning up. */
export const EXIT_WITH_PARENT = fileURLToPath(new URL("./exit-with-parent.mjs", import.meta.url));

/** Children still running: they die with the test process, even when it exits without disposing them. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface ColonyProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  /** Every JSON log line written so far. */
  readonly logs: Record<string, unknown>[];
  /** Everything written to stderr. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process ends. */
  readonly exited: Promise<number | string>;
  signal(sig: NodeJS.Signals): void;
}

/** Where and how the process runs, for tests that place it elsewhere (e.g. in a network namespace). */
export interface ColonyLaunchOptions {
  /** Runs `<prefix…> node …` instead of `node …`, e.g. ["ip", "netns", "exec", "ns1"]; the prefix must exec node (keep its pid). */
  commandPrefix?: string[];
  /** The address `url` names instead of 127.0.0.1 (the process's COLONY_HTTP_HOST must serve it). */
  urlHost?: string;
  /** Another colony bin than this checkout's (e.g. one in a copy laid out as the image). */
  bin?: string;
}

/**
 * Starts `colony <args>` as a real child process (through the same bin a user
 * runs) and resolves once it logs "listening", i.e. serves HTTP.
 */
export async function startColony(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  nodeArgs: string[] = [],
  launch: ColonyLaunchOptions = {},
): Promise<ColonyProcess> {
  const command = [...(launch.commandPrefix ?? []), process.execPath, "--import", EXIT_WITH_PARENT, ...nodeArgs, launch.bin ?? BIN, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    env: { PATH: process.env.PATH ?? "", COLONY_HTTP_PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  let buffered = "";
  let onListening: ((port: number) => void) | undefined;
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "listening" && typeof entry.port === "number") onListening?.(entry.port);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  running.add(child);
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  void exited.then(() => running.delete(child));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Nobody will dispose a process whose start failed: it must not outlive the failure.
      child.kill("SIGKILL");
      reject(new Error(`colony ${args.join(" ")} did not listen within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    onListening = (p) => {
      clearTimeout(timer);
      resolve(p);
    };
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`colony ${args.join(" ")} exited (${code}) before listening; stderr: ${stderr}`));
    });
  });
  const proc: ColonyProcess = {
    child,
    url: `http://${launch.urlHost ?? "127.0.0.1"}:${port}`,
    port,
    logs,
    stderr: () => stderr,
    exited,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    async [Symbol.asyncDispose]() {
      proc.signal("SIGKILL");
      await exited;
    },
  };
  return proc;
}

/** fetch + JSON, for driving a host over real HTTP. */
export async function http(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** An agent's whole conversation from a host over HTTP, read page by page through GET …/messages. */
export async function conversationOf(base: string, id: string): Promise<any[]> {
  const out: any[] = [];
  for (let cursor: string | null = "0"; cursor !== null; ) {
    const res = await http(base, "GET", `/v1/agents/${id}/messages?cursor=${cursor}`);
    if (res.status !== 200) throw new Error(`GET /v1/agents/${id}/messages: ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...res.body.messages);
    cursor = res.body.nextCursor;
  }
  return out;
}
