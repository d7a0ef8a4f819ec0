// Preloaded (node --import) into a process whose loaded modules a test
// checks: every ES module's URL (module-log-hooks.mjs), then at exit every
// CommonJS file (require.cache) and whether Node's own fetch (undici) was
// loaded ("node:internal/deps/undici"), one a line, into the file at
// COLONY_MODULE_LOG.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

register("./module-log-hooks.mjs", import.meta.url);
const require = createRequire(import.meta.url);

process.on("exit", () => {
  const file = process.env.COLONY_MODULE_LOG;
  if (!file) return;
  const cjs = Object.keys(require.cache).map((p) => pathToFileURL(p).href);
  // process.moduleLoadList is undocumented but stable: Node's internal modules, as loaded.
  const internal = (process.moduleLoadList ?? []).filter((m) => m.includes("internal/deps/undici")).map((m) => `node:${m.split(" ").pop()}`);
  if (cjs.length || internal.length) appendFileSync(file, `${[...cjs, ...internal].join("\n")}\n`);
});
