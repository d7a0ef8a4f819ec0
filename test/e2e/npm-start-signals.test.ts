import { spawn } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { waitFor } from "../harness/wait.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Whether something accepts connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * `npm start` the way a process manager runs it: the manager holds npm's PID
 * and signals only that process. The host under it must drain and free its port.
 */
async function npmStartThenSignal(signal: NodeJS.Signals): Promise<{ code: number | null; logs: Record<string, unknown>[]; port: number }> {
  const child = spawn("npm", ["start"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", COLONY_HTTP_PORT: "0", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that cleanup reaches whatever npm started even if a signal was not passed on.
    detached: true,
  });
  const logs: Record<string, unknown>[] = [];
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line.startsWith("{")) logs.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const port = await waitFor(() => logs.find((l) => l.msg === "listening")?.port as number | undefined, { timeoutMs: 60_000, message: "npm start to listen" });
    expect(await listening(port)).toBe(true);
    child.kill(signal);
    const code = await exited;
    // npm may exit before its child finishes draining: the port must be freed all the same, by the host itself.
    await waitFor(async () => !(await listening(port)), { timeoutMs: 30_000, message: `port ${port} to be freed` });
    await waitFor(() => logs.some((l) => l.msg === "stopped"), { timeoutMs: 30_000, message: "the host to log that it stopped" });
    return { code, logs, port };
  } finally {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // the group is gone already
    }
  }
}

describe("npm start passes signals to the host", { timeout: 120_000 }, () => {
  it("SIGTERM to npm's PID drains the host and frees its port", async () => {
    const { logs } = await npmStartThenSignal("SIGTERM");
    expect(logs.find((l) => l.msg === "shutting down")).toMatchObject({ signal: "SIGTERM" });
  });

  it("SIGINT (Ctrl-C) to npm's PID drains the host and frees its port", async () => {
    const { logs } = await npmStartThenSignal("SIGINT");
    expect(logs.find((l) => l.msg === "shutting down")).toMatchObject({ signal: "SIGINT" });
  });
});
