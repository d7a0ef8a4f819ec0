import { describe, expect, it } from "vitest";
import { AgentTypeRegistry, assistantAgent, defineAgent } from "../src/agent/define.ts";
import { DEFAULT_MAX_ITERATIONS_PER_TURN, DEFAULT_MODEL, MAX_IDLE_MS } from "../src/config/agent-config.ts";
import { ColonyError, ValidationError } from "../src/errors.ts";

const researcher = defineAgent({
  type: "researcher",
  description: "digs things up",
  defaults: {
    systemPrompt: "You research.",
    model: "claude-haiku-4-5",
    tools: ["recall"],
    idleMs: 60_000,
    limits: { maxIterationsPerTurn: 5, tokenBudget: 100_000 },
    workers: { searcher: { systemPrompt: "You search.", tools: ["recall"] } },
  },
});

const registry = new AgentTypeRegistry([assistantAgent, researcher]);

function rejects(type: string, config: unknown): ValidationError {
  try {
    registry.resolve(type, config);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error(`expected resolve(${type}, ${JSON.stringify(config)}) to be rejected`);
}

describe("AgentTypeRegistry.resolve: defaults", () => {
  it("gives the built-in assistant every default when no config is given", () => {
    for (const input of [undefined, {}]) {
      expect(registry.resolve("assistant", input)).toEqual({
        systemPrompt: assistantAgent.defaults.systemPrompt,
        model: DEFAULT_MODEL,
        tools: [],
        limits: { maxIterationsPerTurn: DEFAULT_MAX_ITERATIONS_PER_TURN },
        workers: {},
      });
    }
    expect(registry.resolve("assistant", undefined)).not.toHaveProperty("idleMs");
  });

  it("starts from the type's own defaults", () => {
    expect(registry.resolve("researcher", undefined)).toEqual({
      systemPrompt: "You research.",
      model: "claude-haiku-4-5",
      tools: ["recall"],
      idleMs: 60_000,
      limits: { maxIterationsPerTurn: 5, tokenBudget: 100_000 },
      workers: { searcher: { systemPrompt: "You search.", tools: ["recall"] } },
    });
  });

  it("lets spawn-time fields override the type's, merging limits and workers field by field", () => {
    const config = registry.resolve("researcher", {
      model: "claude-opus-4-1",
      tools: ["remember", "recall", "remember"],
      limits: { maxTokensPerTurn: 4_000, costBudgetUsd: 0.5 },
      workers: { writer: { systemPrompt: "You write." } },
    });
    expect(config.model).toBe("claude-opus-4-1");
    expect(config.systemPrompt).toBe("You research.");
    expect(config.tools).toEqual(["remember", "recall"]);
    expect(config.limits).toEqual({ maxIterationsPerTurn: 5, tokenBudget: 100_000, maxTokensPerTurn: 4_000, costBudgetUsd: 0.5 });
    expect(Object.keys(config.workers).sort()).toEqual(["searcher", "writer"]);
    expect(config.idleMs).toBe(60_000);
  });

  it("keeps an explicit empty tool list and an explicit iteration limit", () => {
    const config = registry.resolve("researcher", { tools: [], limits: { maxIterationsPerTurn: 1 } });
    expect(config.tools).toEqual([]);
    expect(config.limits.maxIterationsPerTurn).toBe(1);
  });

  it("does not let one resolved config change another or the defaults", () => {
    const a = registry.resolve("researcher", undefined);
    a.tools.push("delegate");
    a.limits.tokenBudget = 1;
    const b = registry.resolve("researcher", undefined);
    expect(b.tools).toEqual(["recall"]);
    expect(b.limits.tokenBudget).toBe(100_000);
  });
});

describe("AgentTypeRegistry.resolve: bad configs name the field", () => {
  it("rejects a misspelt limit, naming config.limits.<the typo>", () => {
    const err = rejects("assistant", { limits: { maxIterationPerTurn: 3 } });
    expect(err.code).toBe("validation_failed");
    expect(err.details?.field).toBe("config.limits.maxIterationPerTurn");
    expect(err.message).toContain("maxIterationPerTurn");
  });

  it("rejects unknown top-level and worker fields", () => {
    expect(rejects("assistant", { systemPromt: "hi" }).details?.field).toBe("config.systemPromt");
    expect(rejects("assistant", { workers: { w: { tols: [] } } }).details?.field).toBe("config.workers.w.tols");
  });

  it.each([
    [{ tools: "remember" }, "config.tools"],
    [{ tools: ["bad name"] }, "config.tools.0"],
    [{ model: "" }, "config.model"],
    [{ model: 42 }, "config.model"],
    [{ systemPrompt: ["a"] }, "config.systemPrompt"],
    [{ idleMs: -1 }, "config.idleMs"],
    [{ idleMs: 1.5 }, "config.idleMs"],
    [{ idleMs: MAX_IDLE_MS + 1 }, "config.idleMs"],
    [{ limits: { maxIterationsPerTurn: 0 } }, "config.limits.maxIterationsPerTurn"],
    [{ limits: { maxIterationsPerTurn: 2.5 } }, "config.limits.maxIterationsPerTurn"],
    [{ limits: { maxIterationsPerTurn: "3" } }, "config.limits.maxIterationsPerTurn"],
    [{ limits: { costBudgetUsd: 0 } }, "config.limits.costBudgetUsd"],
    [{ limits: "none" }, "config.limits"],
    [{ workers: { w: { limits: { tokenBudget: -5 } } } }, "config.workers.w.limits.tokenBudget"],
  ])("rejects %j at %s", (config, field) => {
    const err = rejects("assistant", config);
    expect(err.details?.field).toBe(field);
    expect(err.message.startsWith(field)).toBe(true);
  });

  it("rejects a worker profile name outside the type grammar", () => {
    expect(rejects("assistant", { workers: { "Bad Name": {} } }).details?.field).toMatch(/^config\.workers/);
  });

  it.each([["a string", "abc"], ["null", null], ["an array", []], ["a number", 5]])("rejects a config that is %s", (_what, config) => {
    expect(rejects("assistant", config).details?.field).toBe("config");
  });
});

describe("AgentTypeRegistry: types", () => {
  it("rejects an unknown agent type, naming `type` and the known types", () => {
    let err: unknown;
    try {
      registry.resolve("nobody", {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ColonyError);
    const ce = err as ColonyError;
    expect(ce.details?.field).toBe("type");
    expect(ce.action).toBe("terminal");
    expect(ce.message).toContain('"nobody"');
    expect(ce.message).toContain("assistant");
    expect(ce.message).toContain("researcher");
  });

  it("lists its types and refuses a type registered twice", () => {
    expect(registry.types().sort()).toEqual(["assistant", "researcher"]);
    expect(() => new AgentTypeRegistry([assistantAgent, assistantAgent])).toThrow(/defined twice/);
  });

  it("defineAgent validates the type name and the defaults at definition time", () => {
    expect(() => defineAgent({ type: "Bad Type" })).toThrow(ValidationError);
    expect(() => defineAgent({ type: "ok", defaults: { limits: { maxIterationPerTurn: 1 } } as never })).toThrow(/invalid defaults/);
    expect(Object.isFrozen(defineAgent({ type: "frozen" }))).toBe(true);
  });
});
