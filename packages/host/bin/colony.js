#!/usr/bin/env node
// The colony CLI. It runs the compiled JavaScript of packages/*/dist when
// that is up to date, and otherwise the TypeScript sources through tsx's
// loader, so an edited checkout never runs stale code. `npm run build`
// compiles (`npm ci` runs it too, through the root package's `prepare`); a
// compiled start skips tsx's transpiling of every module, which took seconds.
import { existsSync, readdirSync, statSync } from "node:fs";
import { register } from "node:module";

const PACKAGES = ["actors", "directory", "host"].map((name) => new URL(`../../${name}/`, import.meta.url));

/** The newest modification time of the files under `dir` (a URL ending in /), recursively. */
function newestFile(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.name + (entry.isDirectory() ? "/" : ""), dir);
    newest = Math.max(newest, entry.isDirectory() ? newestFile(url) : statSync(url).mtimeMs);
  }
  return newest;
}

/**
 * tsc -b's own rule: a package's dist is up to date when its .tsbuildinfo is
 * newer than every file of its src. Without sources (the Docker image ships
 * dist alone), dist is all there is.
 */
function distIsCurrent() {
  return PACKAGES.every((pkg) => {
    const src = new URL("src/", pkg);
    const info = new URL("dist/.tsbuildinfo", pkg);
    if (!existsSync(src)) return existsSync(new URL("dist/", pkg));
    return existsSync(info) && statSync(info).mtimeMs >= newestFile(src);
  });
}

if (distIsCurrent()) {
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
