/**
 * Vitest's global setup: `npm run build` (tsc -b, which does nothing when
 * packages/*\/dist is newer than the sources) before any test, so the colony
 * processes the tests start run the compiled code, as production does, rather
 * than the sources through tsx (about a second more CPU per start), and so a
 * test never runs a dist older than the sources beside it.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-b", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
}
