/**
 * `colony mcp …` as people run it: a real `colony dev` process (scripted
 * model), the CLI as child processes, an SDK-built MCP server: the README's
 * example, end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColonyProcess } from "../harness/colony-process.ts";
import { startColony } from "../harness/colony-process.ts";
import { colony } from "../harness/cli.ts";
import { type McpFixture, startMcpFixture } from "./fixture-server.ts";

let dev: ColonyProcess;
let mcp: McpFixture;
let env: Record<string, string>;
const cli = (...args: string[]) => colony(args, env);

beforeAll(async () => {
  mcp = await startMcpFixture();
  dev = await startColony(["dev"]);
  env = { COLONY_URL: dev.url };
});
afterAll(async () => {
  await dev?.[Symbol.asyncDispose]();
  await mcp?.close();
});

describe("colony mcp", { timeout: 120_000 }, () => {
  it("declares a server, lists and shows it, an agent calls its tool, and removes it", async () => {
    const put = await cli("mcp", "put", "calc", "--url", mcp.url, "--permission", "auto");
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toContain("declared MCP server calc");
    expect(put.stdout).toMatch(/^tools:\s+calc__add, calc__fail, calc__slow$/m);

    const ls = await cli("mcp", "ls");
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/^calc\s+http\s+yes\s+3\s+-$/m);
    const got = JSON.parse((await cli("mcp", "get", "calc", "--json")).stdout);
    expect(got).toMatchObject({ name: "calc", declaration: { url: mcp.url }, status: { connected: true } });

    expect((await cli("agents", "spawn", "assistant/calcy", "--tools", "calc__add")).code).toBe(0);
    const sent = await cli("agents", "send", "assistant/calcy", 'tool calc__add {"a":2,"b":3}');
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain("5");
    expect(mcp.calls.at(-1)).toMatchObject({ tool: "add", args: { a: 2, b: 3 } });

    const stdio = await cli("mcp", "put", "local", "--command", "node", "--arg", "server.js");
    expect(stdio.code).not.toBe(0);
    expect(stdio.stderr).toContain("COLONY_MCP_ALLOW_STDIO");
    const empty = await cli("mcp", "put", "nothing");
    expect(empty.code).not.toBe(0);

    expect((await cli("mcp", "delete", "calc")).code).toBe(0);
    const gone = await cli("mcp", "get", "calc");
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("not_found");
  });
});
