#!/usr/bin/env node
// The colony CLI. It runs the compiled JavaScript of packages/*/dist when that
// is up to date, and otherwise the TypeScript sources through tsx's loader, so
// an edited checkout never runs stale code. `npm run build` compiles (`npm ci`
// runs it through the root package's `prepare`, and so does the tests' global
// setup); a compiled start skips tsx's loader and transpiling, which cost
// about a second of CPU per call.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { register } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * The newest modification time of the .ts files under the directory `dir`,
 * recursively. Paths are strings, not URLs: this runs on every CLI call, and
 * turning a URL into a path per file cost as much as the stat itself.
 */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(`${dir}/${entry.name}`));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(`${dir}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/**
 * tsc -b's own rule: a package's dist is up to date when its .tsbuildinfo is
 * newer than every source file. Without sources (the Docker image ships dist
 * alone), dist is all there is. `packages` are the workspaces' directories.
 */
function distIsCurrent(packages) {
  return packages.every((pkg) => {
    const src = fileURLToPath(new URL("src", pkg));
    const info = new URL("dist/.tsbuildinfo", pkg);
    if (!existsSync(src)) return existsSync(new URL("dist/", pkg));
    return existsSync(info) && statSync(info).mtimeMs >= newestSource(src);
  });
}

const root = new URL("../../../", import.meta.url);
const { workspaces } = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
if (distIsCurrent(workspaces.map((w) => new URL(`${w}/`, root)))) {
  await import("../dist/cli/main.js");
} else {
  // tsx is a dev dependency: only a checkout runs the sources.
  const { register: registerTsx } = await import("tsx/esm/api");
  registerTsx();
  // Registered last, so it runs first: @colony/* imports resolve to src (their
  // exports' "colony-source" condition) rather than to dist.
  register("./source-condition.js", import.meta.url);
  await import("../src/cli/main.ts");
}
