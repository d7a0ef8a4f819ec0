import { z } from "zod";
import { describe, expect, it } from "vitest";
import { TimeoutError, ValidationError } from "../src/errors.ts";
import type { AgentId, MessageId } from "../src/ids.ts";
import { MAX_MEMORY_KEY, recallTool, rememberTool } from "../src/tools/memory-tools.ts";
import { DEFAULT_TOOL_TIMEOUT_MS, ToolRegistry } from "../src/tools/registry.ts";
import type { ToolContext, ToolDefinition } from "../src/tools/tool.ts";
import { defineTool } from "../src/tools/tool.ts";
import { initialState } from "../src/agent/state.ts";
import { resolveConfig } from "../src/config/agent-config.ts";
import { waitFor } from "../../../test/harness/wait.ts";

function context(memory = new Map<string, string>(), signal: AbortSignal = new AbortController().signal): ToolContext {
  return {
    agentId: "assistant/k1" as AgentId,
    messageId: "m1" as MessageId,
    toolUseId: "toolu_1",
    idempotencyKey: "assistant/k1:m1:toolu_1",
    memory: { get: (k) => memory.get(k), set: (k, v) => void memory.set(k, v) },
    signal,
    agent: initialState("assistant/k1" as AgentId, "assistant" as never, "k1" as never, resolveConfig({}, {}), 0),
  };
}

const echo = defineTool({
  name: "echo",
  description: "Echoes its text.",
  input: z.strictObject({ text: z.string().min(1), times: z.number().int().positive().optional() }),
  run: ({ text, times }) => ({ content: text.repeat(times ?? 1) }),
});

const ALL = ["remember", "recall", "echo"];

describe("ToolRegistry: specs for the model", () => {
  const registry = new ToolRegistry([rememberTool, recallTool, echo]);

  it("exposes remember and recall as JSON Schema objects", () => {
    const [remember, recall] = registry.specsFor(["remember", "recall"]);
    expect(remember).toEqual({
      name: "remember",
      description: rememberTool.description,
      inputSchema: {
        type: "object",
        properties: {
          key: { type: "string", minLength: 1, maxLength: MAX_MEMORY_KEY },
          value: { type: "string", maxLength: expect.any(Number) },
        },
        required: ["key", "value"],
        additionalProperties: false,
      },
    });
    expect(recall).toMatchObject({
      name: "recall",
      inputSchema: { type: "object", properties: { key: { type: "string" } }, required: ["key"], additionalProperties: false },
    });
    expect(recall!.inputSchema).not.toHaveProperty("$schema");
  });

  it("marks optional inputs as not required", () => {
    const [spec] = registry.specsFor(["echo"]);
    expect(spec!.inputSchema.required).toEqual(["text"]);
  });

  it("offers only the allowed tools, in the allowed order, skipping unknown names", () => {
    expect(registry.specsFor(["recall", "nope", "echo"]).map((s) => s.name)).toEqual(["recall", "echo"]);
    expect(registry.specsFor([])).toEqual([]);
  });

  it("refuses a tool registered twice and names unknown tools in a config", () => {
    expect(() => registry.register(echo)).toThrow(/registered twice/);
    expect(registry.names()).toEqual(ALL);
    let err: unknown;
    try {
      registry.assertKnown(["remember", "delegate"], "config.tools");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details?.field).toBe("config.tools[1]");
    expect((err as ValidationError).message).toContain('unknown tool "delegate"');
    expect(() => registry.assertKnown(["remember", "recall"], "config.tools")).not.toThrow();
  });
});

describe("ToolRegistry.call: every failure is an error result, never a throw", () => {
  it("runs an allowed tool", async () => {
    const registry = new ToolRegistry([echo]);
    expect(await registry.call("echo", { text: "ab", times: 2 }, ["echo"], context())).toEqual({ content: "abab", outcome: "ok" });
  });

  it("refuses a registered tool the agent is not allowed, and an unknown one", async () => {
    let ran = false;
    const registry = new ToolRegistry([defineTool({ ...echo, run: () => ((ran = true), { content: "x" }) })]);
    const notAllowed = await registry.call("echo", { text: "a" }, ["remember"], context());
    expect(notAllowed).toEqual({ isError: true, content: 'tool "echo" is not available to this agent', outcome: "denied" });
    expect(ran).toBe(false);
    expect((await registry.call("nope", {}, ["nope"], context())).isError).toBe(true);
  });

  it("refuses a tool denied by policy", async () => {
    const registry = new ToolRegistry([{ ...echo, permission: "deny" } as ToolDefinition<unknown>]);
    const out = await registry.call("echo", { text: "a" }, ["echo"], context());
    expect(out.isError).toBe(true);
    expect(out.content).toMatch(/denied/);
  });

  it.each([
    [{ text: "" }, /text/],
    [{ text: 5 }, /text/],
    [{ text: "a", times: -1 }, /times/],
    [{ text: "a", colour: "red" }, /colour/],
    [{}, /text/],
    ["{not json", /input/],
    [null, /input/],
  ])("returns an error result naming the field for arguments %j", async (args, field) => {
    const registry = new ToolRegistry([echo]);
    const out = await registry.call("echo", args, ["echo"], context());
    expect(out.isError).toBe(true);
    expect(out.content).toMatch(/^invalid arguments for echo: /);
    expect(out.content).toMatch(field);
  });

  it.each([
    ["a string of JSON", '{"text":"a"}', "string"],
    ["an array", [{ text: "a" }], "an array"],
    ["a number", 7, "number"],
    ["null", null, "null"],
  ])("refuses %s as input even when the tool's schema would take it, and never runs the tool", async (_what, args, got) => {
    let runs = 0;
    const lax = defineTool({ name: "lax", description: "takes anything", input: z.any(), run: () => ((runs++), { content: "ran" }) });
    const out = await new ToolRegistry([lax]).call("lax", args, ["lax"], context());
    expect(out).toEqual({ isError: true, content: `invalid arguments for lax: input: expected a JSON object, got ${got}`, outcome: "invalid" });
    expect(runs).toBe(0);
  });

  it("turns a throwing or rejecting tool into an error result", async () => {
    const registry = new ToolRegistry([
      defineTool({ name: "sync_throw", description: "", input: z.object({}), run: () => {
        throw new Error("disk on fire");
      } }),
      defineTool({ name: "async_throw", description: "", input: z.object({}), run: async () => {
        throw new Error("network down");
      } }),
      defineTool({ name: "throws_string", description: "", input: z.object({}), run: () => {
        throw "plain string";
      } }),
    ]);
    const allowed = registry.names();
    expect(await registry.call("sync_throw", {}, allowed, context())).toEqual({ isError: true, content: "sync_throw failed: disk on fire", outcome: "error" });
    expect(await registry.call("async_throw", {}, allowed, context())).toEqual({ isError: true, content: "async_throw failed: network down", outcome: "error" });
    expect(await registry.call("throws_string", {}, allowed, context())).toEqual({ isError: true, content: "throws_string failed: plain string", outcome: "error" });
  });

  it("turns a malformed tool result into an error result instead of corrupting the conversation", async () => {
    const registry = new ToolRegistry([
      defineTool({ name: "bad", description: "", input: z.object({}), run: () => undefined as never }),
      defineTool({ name: "worse", description: "", input: z.object({}), run: () => ({ content: 42 }) as never }),
    ]);
    for (const name of ["bad", "worse"]) {
      const out = await registry.call(name, {}, registry.names(), context());
      expect(out.isError).toBe(true);
      expect(out.content).toMatch(/invalid result/);
    }
  });

  it("times a slow tool out with an error result and aborts the tool's signal", async () => {
    let seen: AbortSignal | undefined;
    const slow = defineTool({
      name: "slow",
      description: "never finishes on its own",
      input: z.object({}),
      timeoutMs: 20,
      run: (_input, ctx) =>
        new Promise((_resolve, reject) => {
          seen = ctx.signal;
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
        }),
    });
    const registry = new ToolRegistry([slow]);
    const started = performance.now();
    const out = await registry.call("slow", {}, ["slow"], context());
    expect(out).toEqual({ isError: true, content: "slow timed out after 20 ms", outcome: "error" });
    expect(performance.now() - started).toBeLessThan(DEFAULT_TOOL_TIMEOUT_MS);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
  });

  it("passes the caller's cancellation on to the tool", async () => {
    let seen: AbortSignal | undefined;
    const registry = new ToolRegistry([
      defineTool({
        name: "waits",
        description: "",
        input: z.object({}),
        run: (_i, ctx) =>
          new Promise((_resolve, reject) => {
            seen = ctx.signal;
            ctx.signal.addEventListener("abort", () => reject(new Error("cancelled by caller")));
          }),
      }),
    ]);
    const turn = new AbortController();
    const pending = registry.call("waits", {}, ["waits"], context(new Map(), turn.signal));
    await waitFor(() => seen !== undefined, { message: "the tool to start" });
    turn.abort(new Error("turn cancelled"));
    expect(await pending).toEqual({ isError: true, content: "waits cancelled: turn cancelled", outcome: "error" });
    expect(seen!.aborted).toBe(true);
  });

  it("ends a call at once on the caller's cancellation even when the tool ignores its signal", async () => {
    let started = false;
    const registry = new ToolRegistry([
      defineTool({ name: "deaf", description: "", input: z.object({}), timeoutMs: 60 * 60_000, run: () => ((started = true), new Promise(() => {})) }),
    ]);
    const turn = new AbortController();
    const pending = registry.call("deaf", {}, ["deaf"], context(new Map(), turn.signal));
    await waitFor(() => started, { message: "the tool to start" });
    turn.abort(new Error("drain deadline passed"));
    expect(await pending).toEqual({ isError: true, content: "deaf cancelled: drain deadline passed", outcome: "error" });
  });

  it("hands the tool the idempotency key of the call", async () => {
    let key: string | undefined;
    const registry = new ToolRegistry([defineTool({ name: "k", description: "", input: z.object({}), run: (_i, ctx) => ((key = ctx.idempotencyKey), { content: "ok" }) })]);
    await registry.call("k", {}, ["k"], context());
    expect(key).toBe("assistant/k1:m1:toolu_1");
  });
});

describe("remember and recall", () => {
  const registry = new ToolRegistry([rememberTool, recallTool]);
  const allowed = ["remember", "recall"];

  it("store and read back a value in the agent's memory", async () => {
    const memory = new Map<string, string>();
    const ctx = context(memory);
    expect(await registry.call("remember", { key: "color", value: "blue" }, allowed, ctx)).toEqual({ content: JSON.stringify({ stored: "color" }), outcome: "ok" });
    expect(memory.get("color")).toBe("blue");
    const found = await registry.call("recall", { key: "color" }, allowed, ctx);
    expect(JSON.parse(found.content)).toEqual({ key: "color", found: true, value: "blue" });
    const missing = await registry.call("recall", { key: "size" }, allowed, ctx);
    expect(missing.isError).toBeUndefined();
    expect(JSON.parse(missing.content)).toEqual({ key: "size", found: false });
  });

  it("refuses the __proto__ key and leaves memory untouched", async () => {
    const memory = new Map<string, string>();
    const out = await registry.call("remember", { key: "__proto__", value: "x" }, allowed, context(memory));
    expect(out.isError).toBe(true);
    expect(out.content).toMatch(/key: this key is reserved/);
    expect(memory.size).toBe(0);
    expect((await registry.call("recall", { key: "__proto__" }, allowed, context(memory))).isError).toBe(true);
  });

  it("refuses a __proto__ property smuggled in through JSON arguments", async () => {
    const memory = new Map<string, string>();
    const args = JSON.parse('{"key":"a","value":"b","__proto__":{"polluted":true}}') as unknown;
    const out = await registry.call("remember", args, allowed, context(memory));
    expect(out.isError).toBe(true);
    expect(memory.size).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses an empty or over-long key and a missing value, naming the field", async () => {
    const long = "k".repeat(MAX_MEMORY_KEY + 1);
    for (const [args, field] of [
      [{ key: "", value: "v" }, "key"],
      [{ key: long, value: "v" }, "key"],
      [{ key: "k" }, "value"],
    ] as const) {
      const out = await registry.call("remember", args, allowed, context());
      expect(out.isError).toBe(true);
      expect(out.content).toContain(`${field}:`);
    }
  });
});

describe("tool rate limits", () => {
  it("refuses calls over the per-agent and per-host limits with a rate-limited error result, until the minute passes", async () => {
    const { ManualClock } = await import("../src/testing/index.ts");
    const { ToolRegistry: Registry, defineTool: def } = await import("../src/index.ts");
    const { z: zod } = await import("zod");
    const clock = new ManualClock();
    let runs = 0;
    const registry = new Registry(
      [def({ name: "search", description: "searches", input: zod.object({}), rateLimit: { perAgentPerMinute: 2, perHostPerMinute: 3 }, run: () => ({ content: `hit ${++runs}` }) })],
      { clock },
    );
    const ctx = (agent: string) => ({
      agentId: agent as never,
      messageId: "m1" as never,
      toolUseId: "t1",
      idempotencyKey: "k",
      memory: { get: () => undefined, set: () => {} },
      signal: new AbortController().signal,
      agent: initialState(agent as never, "a" as never, "k" as never, resolveConfig({}, {}), 0),
    });
    const outcomes = async (agent: string, n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push((await registry.call("search", {}, ["search"], ctx(agent))).outcome);
      return out;
    };
    expect(await outcomes("a/1", 3)).toEqual(["ok", "ok", "rate_limited"]);
    expect(await outcomes("a/2", 2)).toEqual(["ok", "rate_limited"]); // the host's 3 per minute are used up
    const refused = await registry.call("search", {}, ["search"], ctx("a/3"));
    expect(refused).toMatchObject({ isError: true, outcome: "rate_limited" });
    expect(refused.content).toContain("per minute on this host");
    expect(runs).toBe(3);
    clock.advance(60_000);
    expect(await outcomes("a/1", 1)).toEqual(["ok"]);
  });
});

describe("ToolRegistry: tools from runtime sources", () => {
  function mutableSource() {
    const tools = new Map<string, ToolDefinition<unknown>>();
    return { tools, source: { get: (n: string) => tools.get(n), names: () => [...tools.keys()] } };
  }
  const declared = (content: string): ToolDefinition<unknown> =>
    defineTool({
      name: "weather",
      description: "Weather by city.",
      input: z.object({ city: z.string() }),
      inputSchema: { type: "object", properties: { city: { type: "string", description: "as the operator wrote it" } }, required: ["city"] },
      run: () => ({ content }),
    }) as ToolDefinition<unknown>;

  it("sees a source's tools as they come and go, with the JSON Schema they were declared with", async () => {
    const registry = new ToolRegistry([echo]);
    const { tools, source } = mutableSource();
    registry.addSource(source);
    expect(() => registry.assertKnown(["weather"], "config.tools")).toThrow(ValidationError);
    tools.set("weather", declared("sunny"));
    registry.assertKnown(["echo", "weather"], "config.tools");
    expect(registry.names()).toEqual(["echo", "weather"]);
    expect(registry.specsFor(["weather"])[0]!.inputSchema).toEqual(tools.get("weather")!.inputSchema);
    expect(await registry.call("weather", { city: "Oslo" }, ["weather"], context())).toMatchObject({ content: "sunny", outcome: "ok" });
    expect(await registry.call("weather", { town: "Oslo" }, ["weather"], context())).toMatchObject({ outcome: "invalid" });
    tools.set("weather", declared("rainy")); // redeclared: the next call reaches the new definition
    expect(await registry.call("weather", { city: "Oslo" }, ["weather"], context())).toMatchObject({ content: "rainy" });
    tools.delete("weather");
    expect(await registry.call("weather", { city: "Oslo" }, ["weather"], context())).toMatchObject({ outcome: "denied" });
    expect(registry.specsFor(["weather"])).toEqual([]);
  });

  it("lets a code-registered tool win over a source's tool of the same name", async () => {
    const registry = new ToolRegistry([echo]);
    const { tools, source } = mutableSource();
    registry.addSource(source);
    tools.set("echo", { ...declared("shadow"), name: "echo" });
    expect(await registry.call("echo", { text: "hi" }, ["echo"], context())).toMatchObject({ content: "hi", outcome: "ok" });
  });

  it("applies a source tool's rate limit, and starts new windows when it is redeclared with other limits", async () => {
    const registry = new ToolRegistry();
    const { tools, source } = mutableSource();
    registry.addSource(source);
    tools.set("weather", { ...declared("x"), rateLimit: { perAgentPerMinute: 1 } });
    const outcome = async () => (await registry.call("weather", { city: "a" }, ["weather"], context())).outcome;
    expect([await outcome(), await outcome()]).toEqual(["ok", "rate_limited"]);
    tools.set("weather", { ...declared("x"), rateLimit: { perAgentPerMinute: 2 } });
    expect([await outcome(), await outcome(), await outcome()]).toEqual(["ok", "ok", "rate_limited"]);
  });
});
