/**
 * Hosts and CLI calls run the compiled packages/*\/dist (issue "Code shape",
 * point 8): a CLI call costs a fraction of the sources' through tsx, and dist
 * runs with neither the sources nor tsx beside it, as in the Docker image.
 * (The tests' global setup builds dist; the bin runs it when it is current.)
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { colony } from "../harness/cli.ts";
import { startColony } from "../harness/colony-process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CPU_USAGE = fileURLToPath(new URL("../harness/cpu-usage.mjs", import.meta.url));
const WORKSPACES = ["actors", "directory", "host"];

/** The CPU time (ms) a run reported through cpu-usage.mjs. */
function cpuMs(stderr: string): number {
  const m = /cpu-usage-us (\d+)\s*$/.exec(stderr);
  if (!m) throw new Error(`no cpu-usage line in stderr: ${stderr}`);
  return Number(m[1]) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The image's layout in a temporary directory: the root's and each
 * workspace's package.json, each workspace's dist, the bin and the console, and node_modules with only what
 * `npm ci --omit=dev` installs (links into this checkout's), so no sources,
 * no tsx and no TypeScript.
 */
function imageLayout(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "colony-image-"));
  cpSync(path.join(ROOT, "package.json"), path.join(dir, "package.json"));
  for (const w of WORKSPACES) {
    cpSync(path.join(ROOT, "packages", w, "package.json"), path.join(dir, "packages", w, "package.json"));
    cpSync(path.join(ROOT, "packages", w, "dist"), path.join(dir, "packages", w, "dist"), { recursive: true });
  }
  for (const d of ["bin", "console"]) cpSync(path.join(ROOT, "packages/host", d), path.join(dir, "packages/host", d), { recursive: true });
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
  for (const [key, entry] of Object.entries<any>(lock.packages)) {
    const name = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key)?.[1];
    if (!name || entry.dev === true) continue;
    const target = entry.link ? path.join(dir, entry.resolved) : path.join(ROOT, key);
    if (!existsSync(target)) continue; // an optional dependency of another platform
    mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
    symlinkSync(target, path.join(dir, key));
  }
  return dir;
}

describe("the compiled dist", { timeout: 180_000 }, () => {
  const cleanups: (() => void)[] = [];
  afterAll(() => cleanups.forEach((c) => c()));

  it("makes a CLI call against a running host cost well under the sources' through tsx (CPU p50)", async () => {
    await using dev = await startColony(["dev"]);
    const env = { COLONY_URL: dev.url };
    const viaTsx = ["--conditions=colony-source", "--import", "tsx", "--import", CPU_USAGE];
    const dist: number[] = [];
    const tsx: number[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await colony(["agents", "ls"], env, { nodeArgs: ["--import", CPU_USAGE] });
      expect(run.code, run.stderr).toBe(0);
      dist.push(cpuMs(run.stderr));
      if (i !== 0 && i !== 3) continue;
      const src = await colony(["agents", "ls"], env, { bin: path.join(ROOT, "packages/host/src/cli/main.ts"), nodeArgs: viaTsx });
      expect(src.code, src.stderr).toBe(0);
      tsx.push(cpuMs(src.stderr));
    }
    // Measured on 2 cores under a load of 24: dist 460-740 ms, the sources through tsx 1500-1750 ms.
    expect(median(dist), `CPU ms per call: dist ${dist.map(Math.round)}, sources through tsx ${tsx.map(Math.round)}`).toBeLessThan(0.7 * Math.min(...tsx));
  });

  it("runs a host and the CLI from dist alone: no sources, no tsx, no dev dependency (the image's layout)", async () => {
    const dir = imageLayout();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const bin = path.join(dir, "packages/host/bin/colony.js");
    await using dev = await startColony(["dev"], {}, 60_000, [], { bin });
    expect((await fetch(`${dev.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${dev.url}/ui/`)).status, "the console's files, found from dist").toBe(200);
    const ls = await colony(["agents", "ls"], { COLONY_URL: dev.url }, { bin });
    expect(ls.code, ls.stderr).toBe(0);
  });
});
