import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { colony } from "../../../test/harness/cli.ts";

/**
 * A CLI call against a running host starts fast (issue 14, point 8: within
 * 300 ms) because it loads only what its command needs. Wall time on a shared
 * machine is the bench's business (bench/cli.ts); this checks the cause,
 * which does not flake: the modules a client command loads (through
 * test/harness/module-log.mjs), against a stand-in admin API.
 */

const MODULE_LOG = fileURLToPath(new URL("../../../test/harness/module-log.mjs", import.meta.url));
const ROOT_URL = new URL("../../../", import.meta.url).href;

/** Packages a client command has no use for, each costly to load; "node:internal/deps/undici" is fetch. */
const HEAVY = ["zod", "hono", "@hono/", "@asteasolutions/", "ioredis", "nats", "nact", "msgpackr", "@anthropic-ai/", "prom-client", "pino", "@opentelemetry/", "@modelcontextprotocol/", "tsx", "esbuild"];
/** Measured at 23 for `agents ls` (140 before the lean entry); the bound leaves room for a few small modules. */
const MAX_MODULES = 40;

let server: Server;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "colony-cli-modules-"));
  server = createServer((req, res) => {
    const found = req.url === "/v1/agents";
    res.writeHead(found ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(found ? { agents: [], nextCursor: null } : { error: { code: "not_found", message: `${req.url} does not exist` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  url = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with the module log; the distinct modules it loaded. */
async function modulesOf(args: string[], expectedCode: number): Promise<string[]> {
  const log = path.join(dir, `${args.join("-").replace(/\W+/g, "_")}.log`);
  const run = await colony(args, { COLONY_URL: url, COLONY_MODULE_LOG: log }, { nodeArgs: ["--import", MODULE_LOG] });
  expect(run.code, run.stderr).toBe(expectedCode);
  return [...new Set(readFileSync(log, "utf8").split("\n").filter(Boolean))].filter((m) => !m.includes("/test/harness/"));
}

/** A module's name for messages: its path in the repository, or its node: name. */
const short = (m: string) => m.replace(ROOT_URL, "");

describe("the modules a client command loads", { timeout: 60_000 }, () => {
  it.each([
    { args: ["agents", "ls"], code: 0 },
    { args: ["agents", "get", "assistant/nobody"], code: 1 },
  ])("colony $args.0 $args.1: the compiled client alone, no server code, no zod, no fetch, at most 40 modules", async ({ args, code }) => {
    const modules = (await modulesOf(args, code)).map(short);
    expect(modules, "the bin runs the compiled dist (the tests' global setup builds it)").toContain("packages/host/dist/cli/main.js");
    const heavy = modules.filter((m) => HEAVY.some((h) => m.includes(`node_modules/${h}`)));
    expect(heavy, "heavy modules loaded").toEqual([]);
    expect(modules.filter((m) => m.includes("undici")), "fetch (undici) loaded").toEqual([]);
    const hostModules = modules.filter((m) => m.startsWith("packages/host/dist/"));
    const server = hostModules.filter((m) => !m.startsWith("packages/host/dist/cli/") && m !== "packages/host/dist/client-config.js");
    expect(server, "modules of the host's server side").toEqual([]);
    const otherGroups = ["serve-commands", "hosts", "types", "tools", "mcp"].map((g) => `packages/host/dist/cli/${g}.js`);
    expect(hostModules.filter((m) => otherGroups.includes(m)), "other command groups than agents").toEqual([]);
    expect(modules.length, modules.join("\n")).toBeLessThanOrEqual(MAX_MODULES);
  });
});
