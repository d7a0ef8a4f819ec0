import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColonyProcess } from "../../../test/harness/colony-process.ts";
import { http, startColony } from "../../../test/harness/colony-process.ts";
import { closedPort, colony } from "../../../test/harness/cli.ts";
import { waitFor } from "../../../test/harness/wait.ts";

/**
 * The `colony` CLI as people run it: a real `colony dev` process, and the
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

describe("colony agents", { timeout: 120_000 }, () => {
  it("spawns, sends (the reply is printed), gets, lists (table and --json) and removes an agent", async () => {
    const spawned = await cli("agents", "spawn", "assistant/alice", "--tools", "remember,recall", "--system-prompt", "Be brief.");
    expect(spawned.code, spawned.stderr).toBe(0);
    expect(spawned.stdout).toContain("spawned assistant/alice");
    expect(spawned.stdout).toMatch(/tools:\s+remember, recall/);

    const sent = await cli("agents", "send", "assistant/alice", "hello", "there");
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout.trim()).toBe('You said: "hello there" (message #1 of this conversation).');

    const remembered = await cli("agents", "send", "assistant/alice", "remember colour = green", "--idempotency-key", "once");
    expect(remembered.stdout.trim()).toBe("I will remember that colour is green.");
    // The same idempotency key runs no second turn: same answer, marked duplicate.
    const again = await cli("agents", "send", "assistant/alice", "remember colour = green", "--idempotency-key", "once", "--json");
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "completed", duplicate: true, reply: "I will remember that colour is green." });

    const [got, gotJson, ls, lsJson, spawnedJson] = await Promise.all([
      cli("agents", "get", "assistant/alice"),
      cli("agents", "get", "assistant/alice", "--json"),
      cli("agents", "ls"),
      cli("agents", "ls", "--json", "--type", "assistant"),
      cli("agents", "spawn", "--type", "assistant", "--key", "bob", "--config", '{"limits":{"tokenBudget":5000}}', "--json"),
    ]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toMatch(/^id:\s+assistant\/alice$/m);
    expect(got.stdout).toMatch(/^turns:\s+2$/m);
    expect(got.stdout).toMatch(/^memory:\s+colour=green$/m);
    expect(got.stdout).toMatch(new RegExp(`^host:\\s+\\S+`, "m"));
    const view = JSON.parse(gotJson.stdout);
    expect(view).toMatchObject({ id: "assistant/alice", turns: 2, memory: { colour: "green" }, config: { systemPrompt: "Be brief.", tools: ["remember", "recall"] } });
    expect(JSON.parse(spawnedJson.stdout)).toMatchObject({ id: "assistant/bob", config: { limits: { tokenBudget: 5000 } } });

    expect(ls.code).toBe(0);
    const [header, ...rows] = ls.stdout.trim().split("\n");
    expect(header).toMatch(/^ID\s+STATUS\s+HOST\s+TURNS$/);
    expect(rows.find((r) => r.startsWith("assistant/alice"))).toMatch(/^assistant\/alice\s+idle\s+\S+\s+2$/);
    const listed = JSON.parse(lsJson.stdout);
    expect(listed.nextCursor).toBeNull();
    expect(listed.agents.map((a: { id: string }) => a.id)).toEqual(expect.arrayContaining(["assistant/alice"]));

    const rm = await cli("agents", "rm", "assistant/alice", "assistant/bob");
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe("deleted assistant/alice\ndeleted assistant/bob\n");
    expect((await http(dev.url, "GET", "/v1/agents/assistant/alice")).status).toBe(404);
  });

  it("a plain send to an agent whose tool waits for approval answers at once and prints the approve command", async () => {
    const config = '{"tools":["remember"],"permissions":{"remember":"approval"}}';
    expect((await cli("agents", "spawn", "assistant/asker", "--config", config)).code).toBe(0);
    const sent = await cli("agents", "send", "assistant/asker", "remember pin = 42");
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/^awaiting approval \S+$/m);
    const pending = (await http(dev.url, "GET", "/v1/approvals")).body.approvals.find((a: { agent: string }) => a.agent === "assistant/asker");
    expect(sent.stderr).toContain(`colony agents approve assistant/asker ${pending.callId}`);
    expect((await cli("agents", "rm", "assistant/asker")).code).toBe(0);
  });

  it("lists tool calls waiting for approval, approves one and denies another", async () => {
    const config = '{"tools":["remember"],"permissions":{"remember":"approval"}}';
    expect((await cli("agents", "spawn", "assistant/gated", "--config", config)).code).toBe(0);
    const queued = await cli("agents", "send", "assistant/gated", "--no-wait", "remember k = v");
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toMatch(/^accepted \S+/);

    const pending = await waitFor(async () => (await http(dev.url, "GET", "/v1/approvals")).body.approvals.find((a: { agent: string }) => a.agent === "assistant/gated"), {
      message: "the remember call to wait for approval",
    });
    const approvals = await cli("agents", "approvals");
    expect(approvals.code).toBe(0);
    expect(approvals.stdout).toMatch(/^AGENT\s+CALL\s+TOOL\s+INPUT\s+REQUESTED\s+DEADLINE$/m);
    expect(approvals.stdout).toMatch(new RegExp(`^assistant/gated\\s+${pending.callId}\\s+remember\\s+\\{"key":"k","value":"v"\\}`, "m"));

    const approved = await cli("agents", "approve", "assistant/gated", pending.callId, "--reason", "fine");
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout.trim()).toBe(`approved call ${pending.callId} of assistant/gated`);
    await waitFor(async () => (await http(dev.url, "GET", "/v1/agents/assistant/gated")).body.memory.k === "v", { message: "the approved call to run" });

    expect((await cli("agents", "send", "assistant/gated", "--no-wait", "remember k2 = v2")).code).toBe(0);
    const second = await waitFor(async () => (await http(dev.url, "GET", "/v1/approvals")).body.approvals.find((a: { agent: string }) => a.agent === "assistant/gated"));
    const denied = await cli("agents", "approve", "assistant/gated", second.callId, "--deny", "--reason", "not now", "--json");
    expect(denied.code, denied.stderr).toBe(0);
    expect(JSON.parse(denied.stdout)).toEqual({ callId: second.callId, approve: false });
    const after = await waitFor(async () => {
      const v = (await http(dev.url, "GET", "/v1/agents/assistant/gated")).body;
      return v.turns === 2 && v.status === "idle" ? v : null;
    }, { message: "the denied turn to finish" });
    expect(after.memory).toEqual({ k: "v" });
    // Nothing waits any more: deciding the first call again is the API's not_found (exit 1).
    const [none, twice] = await Promise.all([cli("agents", "approvals", "--json"), cli("agents", "approve", "assistant/gated", pending.callId)]);
    expect(JSON.parse(none.stdout)).toEqual({ approvals: [] });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("not_found");
  });

  it("follows a turn live with send --follow, and prints its trace", async () => {
    expect((await cli("agents", "spawn", "assistant/watch", "--tools", "remember")).code).toBe(0);
    const followed = await cli("agents", "send", "assistant/watch", "remember", "tide", "=", "high", "--follow");
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout.trim()).toBe("I will remember that tide is high.");
    expect(followed.stderr).toContain('→ remember {"key":"tide","value":"high"}');
    expect(followed.stderr).toContain("← remember ok");

    const ndjson = await cli("agents", "send", "assistant/watch", "hello", "--follow", "--json");
    expect(ndjson.code).toBe(0);
    const kinds = ndjson.stdout.trim().split("\n").map((l) => JSON.parse(l).event.kind);
    expect(kinds[0]).toBe("turn_started");
    expect(kinds).toContain("text_delta");
    expect(kinds.at(-1)).toBe("turn_finished");

    const trace = await cli("agents", "trace", "assistant/watch", "--turn", "1");
    expect(trace.code, trace.stderr).toBe(0);
    expect(trace.stdout).toMatch(/^TIME\s+TURN\s+HOST\s+STEP\s+DETAIL/);
    expect(trace.stdout).toContain("tool_call");
    expect(trace.stdout).toMatch(/tool_result\s+remember ok in \d+ ms/);
    const json = JSON.parse((await cli("agents", "trace", "assistant/watch", "--json")).stdout);
    expect(json.nextCursor).toBeNull(); // the API's {entries, nextCursor}, with every page read
    expect(new Set(json.entries.map((e: { turn: number }) => e.turn))).toEqual(new Set([1, 2]));
    expect((await cli("agents", "trace", "assistant/nobody")).code).toBe(1);
  });

  it("shows which argument-policy rule decided a call in the trace", async () => {
    const config = { tools: ["remember"], policies: { remember: [{ name: "no secrets", when: { path: "key", op: "eq", value: "password" }, tier: "deny" }] } };
    expect((await cli("agents", "spawn", "assistant/guarded", "--config", JSON.stringify(config))).code).toBe(0);
    const sent = await cli("agents", "send", "assistant/guarded", "remember password = hunter2", "--json");
    expect(JSON.parse(sent.stdout).reply).toContain('argument policy rule 0 ("no secrets") of remember chose deny');
    const trace = await cli("agents", "trace", "assistant/guarded");
    expect(trace.stdout).toMatch(/tool_result\s+remember denied in 0 ms: denied \[policy rule 0 "no secrets": deny\]/);
  });

  it("lists an agent's dead letters, replays one and discards one", async () => {
    // A budget of one token: the first turn spends it, every later message is dead-lettered at once.
    expect((await cli("agents", "spawn", "assistant/broke", "--config", '{"limits":{"tokenBudget":1}}')).code).toBe(0);
    expect((await cli("agents", "send", "assistant/broke", "first")).code).toBe(0);
    const failed = await cli("agents", "send", "assistant/broke", "second", "--json");
    const dead = JSON.parse(failed.stdout);
    expect(dead).toMatchObject({ status: "failed", error: { code: "token_budget_exhausted" }, deadLetter: { id: dead.messageId, attempts: 1 } });

    const listed = await cli("agents", "dead-letters", "assistant/broke");
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+DEAD-LETTERED\s+ATTEMPTS\s+REASON\s+MESSAGE/);
    expect(listed.stdout).toContain(dead.messageId);
    expect(listed.stdout).toContain("token_budget_exhausted");

    const replayed = await cli("agents", "dead-letters", "assistant/broke", "--replay", dead.messageId, "--json");
    expect(replayed.code, replayed.stderr).toBe(0);
    const replay = JSON.parse(replayed.stdout);
    expect(replay).toMatchObject({ status: "accepted", replayOf: dead.messageId, duplicate: false });
    // The budget is still spent: the replay is dead-lettered in its turn, under its own id.
    await waitFor(async () => JSON.parse((await cli("agents", "dead-letters", "assistant/broke", "--json")).stdout).deadLetters.map((d: { id: string }) => d.id).join() === replay.messageId, {
      message: "the replayed message to be dead-lettered in its turn",
      timeoutMs: 30_000,
    });

    const discarded = await cli("agents", "dead-letters", "assistant/broke", "--discard", replay.messageId);
    expect(discarded.code, discarded.stderr).toBe(0);
    expect(discarded.stdout).toContain(`discarded dead letter ${replay.messageId}`);
    expect((await cli("agents", "dead-letters", "assistant/broke")).stdout.trim()).toBe("no dead letters");
    const missing = await cli("agents", "dead-letters", "assistant/broke", "--discard", replay.messageId);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no dead letter");
  });

  it("shows the hosts", async () => {
    const [table, json] = await Promise.all([cli("hosts"), cli("hosts", "--json")]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+ADDRESS\s+STATUS\s+AGENTS\s+LOAD\s+LAST HEARTBEAT$/m);
    expect(table.stdout).toContain(dev.url);
    expect(JSON.parse(json.stdout).hosts).toEqual([expect.objectContaining({ address: dev.url, status: "alive" })]);
  });

});

