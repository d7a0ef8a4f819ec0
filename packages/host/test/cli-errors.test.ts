import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColonyProcess } from "../../../test/harness/colony-process.ts";
import { http, startColony } from "../../../test/harness/colony-process.ts";
import { closedPort, colony } from "../../../test/harness/cli.ts";

/**
 * The `colony` CLI's failure modes, help and token handling: exit codes 1 (the
 * API answered an error) and 2 (usage, unreachable host). Like cli.test.ts,
 * the CLI as people run it: a real `colony dev` process, and the
 * CLI itself as child processes (node packages/host/bin/colony.js …) talking
 * to it over HTTP through COLONY_URL / COLONY_ADMIN_TOKEN.
 */

let dev: ColonyProcess;
let env: Record<string, string>;
const cli = (...args: string[]) => colony(args, env);

beforeAll(async () => {
  dev = await startColony(["dev"]);
  env = { COLONY_URL: dev.url };
});
afterAll(async () => {
  await dev?.[Symbol.asyncDispose]();
});

describe("colony agents: exit codes and help", { timeout: 120_000 }, () => {
  it("exits 1 with the error code when the API answers an error, 2 on usage errors and unreachable hosts", async () => {
    const port = await closedPort();
    await http(dev.url, "POST", "/v1/agents", { type: "assistant", key: "dup" });
    const [unknown, exists, badId, badConfig, badLimit, unreachable, badUrl] = await Promise.all([
      cli("agents", "get", "assistant/nobody"),
      cli("agents", "spawn", "assistant/dup"),
      cli("agents", "get", "not-an-id"),
      cli("agents", "spawn", "--config", "{nope"),
      cli("agents", "ls", "--limit", "0"),
      colony(["agents", "ls"], { COLONY_URL: `http://127.0.0.1:${port}` }),
      colony(["agents", "ls"], { COLONY_URL: "not a url" }),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not_found: agent assistant\/nobody does not exist/);
    expect(unknown.stdout).toBe("");
    expect(exists.code).toBe(1);
    expect(exists.stderr).toContain("already_exists");
    expect(badLimit.stderr).toContain("--limit");
    for (const r of [badId, badConfig, badLimit, badUrl]) expect(r.code, r.stderr).toBe(2);
    expect(badId.stderr).toContain("<type>/<key>");
    expect(badConfig.stderr).toContain("--config is not valid JSON");
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain(`cannot reach http://127.0.0.1:${port}`);
    expect(badUrl.stderr).toContain("COLONY_URL");
    // A 400 from the API (an unknown config field) is the API's error: 1, naming the field.
    const invalid = await cli("agents", "spawn", "assistant/x", "--config", '{"temperature":1}');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/validation_failed: .*\(field: config\.temperature\)/);
  });

  it("colony hosts shares the error path of every command: a bad or unreachable COLONY_URL is one clean line and exit 2", async () => {
    const port = await closedPort();
    const [badUrl, unreachable, ok] = await Promise.all([
      colony(["hosts"], { COLONY_URL: "not a url" }),
      colony(["hosts"], { COLONY_URL: `http://127.0.0.1:${port}` }),
      cli("hosts", "--json"),
    ]);
    for (const r of [badUrl, unreachable]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(badUrl.stderr).toMatch(/^colony hosts: .*COLONY_URL/);
    expect(unreachable.stderr).toContain(`colony hosts: cannot reach http://127.0.0.1:${port}`);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).hosts).toHaveLength(1);
  });

  it("has --help everywhere, documenting the exit codes", async () => {
    const commands = [[], ["agents"], ...["spawn", "send", "get", "ls", "rm", "approvals", "approve", "resume"].map((c) => ["agents", c]), ["hosts"]];
    const runs = await Promise.all(commands.map((c) => colony([...c, "--help"])));
    runs.forEach((r, i) => {
      const what = ["colony", ...commands[i]!].join(" ");
      expect(r.code, what).toBe(0);
      expect(r.stdout, what).toContain(`Usage: ${what}`);
      if (commands[i]![0] === "agents") expect(r.stdout, what).toMatch(/Exit codes:[\s\S]*0\s+ok[\s\S]*1\s+the API answered an error[\s\S]*2\s+usage error/);
    });
    expect(runs[0]!.stdout).toContain("agents");
    expect(runs[3]!.stdout).toContain("--no-wait");
    expect(runs[3]!.stdout).toContain("--idempotency-key");
    expect(runs[8]!.stdout).toContain("--deny");
    const spawnHelp = runs[2]!.stdout;
    expect(spawnHelp.indexOf("Usage:")).toBe(0);
    expect(spawnHelp.indexOf("Examples:")).toBeGreaterThan(spawnHelp.indexOf("Options:"));
  });

  it("lists in each server command's --help every variable that command reads, from the config parser's own table", async () => {
    const { ENV_NAMES, envHelp } = await import("../src/config.ts");
    const [dev, host, directory] = await Promise.all(["dev", "host", "directory"].map((c) => colony([c, "--help"])));
    for (const [name, run] of [["dev", dev], ["host", host], ["directory", directory]] as const) {
      expect(run!.code).toBe(0);
      expect(run!.stdout).toContain(envHelp(name));
    }
    // The variables the issue found missing, and the ones each command needs.
    for (const name of ["COLONY_WAIT_TIMEOUT_MS", "COLONY_STALL_FENCE", "NATS_URL", "REDIS_URL", "COLONY_MODEL_CONCURRENCY"]) expect(host!.stdout).toContain(name);
    expect(directory!.stdout).toContain("COLONY_PLACEMENT");
    expect(directory!.stdout).not.toContain("ANTHROPIC_API_KEY");
    // Every variable but the test hooks is documented for some command, and in the README's table.
    const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
    for (const name of ENV_NAMES.filter((n) => !n.startsWith("COLONY_TEST_"))) {
      expect([dev, host, directory].some((r) => r!.stdout.includes(`  ${name} `)), name).toBe(true);
      expect(readme, name).toContain(`| \`${name}\` |`);
    }
  });
});

describe("colony agents with COLONY_ADMIN_TOKEN", { timeout: 120_000 }, () => {
  it("is refused without the token (exit 1, unauthorized) and served with it", async () => {
    const token = "s3cret-token-0123456789";
    await using guarded = await startColony(["dev"], { COLONY_ADMIN_TOKEN: token });
    const [without, wrong, withToken] = await Promise.all([
      colony(["agents", "ls"], { COLONY_URL: guarded.url }),
      colony(["agents", "ls"], { COLONY_URL: guarded.url, COLONY_ADMIN_TOKEN: "wrong-token-0123456789" }),
      colony(["agents", "spawn", "assistant/t1", "--json"], { COLONY_URL: guarded.url, COLONY_ADMIN_TOKEN: token }),
    ]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain("unauthorized");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("unauthorized");
    expect(withToken.code, withToken.stderr).toBe(0);
    expect(JSON.parse(withToken.stdout).id).toBe("assistant/t1");
    const sent = await colony(["agents", "send", "assistant/t1", "hi"], { COLONY_URL: guarded.url, COLONY_ADMIN_TOKEN: token });
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('You said: "hi"');
  });
});
