import { spawn } from "node:child_process";
import buildDist from "../test/harness/build-dist.ts";
import { BIN, http, startColony } from "../test/harness/colony-process.ts";
import type { Row } from "./stats.ts";
import { fmt } from "./stats.ts";

/** Wall ms of one `node <args>` to its exit; rejects on a non-zero exit. */
function timeNode(args: string[], env: Record<string, string>): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`node ${args.join(" ")} exited ${code}: ${stderr}`))));
  });
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * CLI calls against a running `colony dev` (issue 14, point 8: within 300 ms),
 * next to a bare `node -e ''` start in the same run: the calls and the bare
 * starts interleave, one at a time, so a shared machine's load weighs on
 * both alike. The CLI runs the compiled dist (built first, as the tests do).
 */
export async function cliBench(opts: { calls: number }): Promise<Row[]> {
  buildDist();
  await using dev = await startColony(["dev"]);
  await http(dev.url, "POST", "/v1/agents", { type: "assistant", key: "bench" });
  const env = { COLONY_URL: dev.url };
  const commands: [string, string[]][] = [
    ["colony agents ls", ["agents", "ls"]],
    ["colony agents get", ["agents", "get", "assistant/bench"]],
    ["colony agents send (scripted model)", ["agents", "send", "assistant/bench", "hi"]],
  ];
  const bare: number[] = [];
  const calls = commands.map(() => [] as number[]);
  await timeNode([BIN, "agents", "ls"], env); // warm the file cache
  for (let i = 0; i < opts.calls; i++) {
    bare.push(await timeNode(["-e", ""], {}));
    for (const [j, [, args]] of commands.entries()) calls[j]!.push(await timeNode([BIN, ...args], env));
  }
  const base = p50(bare);
  return commands.map(([what], j) => ({
    what: `${what}: p50 ms (bare node -e '' start as baseline)`,
    colony: fmt(p50(calls[j]!), 0),
    baseline: fmt(base, 0),
    ratio: `${fmt(p50(calls[j]!) / base, 2)}x`,
  }));
}
