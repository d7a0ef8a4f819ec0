import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { BIN, EXIT_WITH_PARENT } from "./colony-process.ts";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `colony` CLI as a child process, the way people run it, with only
 * PATH and `env` set; `bin` and `nodeArgs` (before it) replace the command.
 */
export function colony(args: string[], env: Record<string, string> = {}, { bin = BIN, nodeArgs = [] as string[] } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", EXIT_WITH_PARENT, ...nodeArgs, bin, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
