import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { AgentId, AgentKey, AgentType, ModelCallOptions, ModelProvider, ModelRequest, ModelResponse } from "../src/index.ts";
import {
  Activation,
  AgentNotHereError,
  AgentStore,
  MemoryApprovalIndex,
  MemoryStoreDriver,
  NactRuntime,
  ScriptedModel,
  ToolRegistry,
  defineTool,
  initialState,
  newMessageId,
  noopMetrics,
  resolveConfig,
  silentLogger,
  systemClock,
} from "../src/index.ts";
import { claim } from "../src/testing/claim.ts";

/** The scripted model, counting completed calls, able to hang on a chosen call (a host about to die). */
class CountingModel implements ModelProvider {
  readonly name = "counting";
  completed = 0;
  started = 0;
  private readonly inner = new ScriptedModel();
  constructor(private readonly hangOnCall?: number) {}
  async complete(req: ModelRequest, opts?: ModelCallOptions): Promise<ModelResponse> {
    this.started++;
    if (this.started === this.hangOnCall) return new Promise(() => {});
    const res = await this.inner.complete(req, opts);
    this.completed++;
    return res;
  }
}

const runtimes: NactRuntime[] = [];
afterEach(() => runtimes.splice(0).forEach((r) => r.close()));

describe("a turn reactivated mid-way", () => {
  it("resumes from its last checkpoint without repeating a completed model call or tool call", async () => {
    const store = new AgentStore(new MemoryStoreDriver());
    let toolRuns = 0;
    const tools = new ToolRegistry([
      defineTool({
        name: "charge",
        description: "charges a card (must never run twice)",
        input: z.object({ amount: z.number() }),
        run: ({ amount }, ctx) => {
          toolRuns++;
          return { content: `charged ${amount} (${ctx.idempotencyKey})` };
        },
      }),
    ]);
    const id = "assistant/resume" as AgentId;
    await store.create(initialState(id, "assistant" as AgentType, "resume" as AgentKey, resolveConfig({}, { tools: ["charge"] }), Date.now()));
    const deps = (model: ModelProvider) => {
      const runtime = new NactRuntime();
      runtimes.push(runtime);
      return { hostId: "h" as never, store, model, tools, runtime, clock: systemClock, metrics: noopMetrics, logger: silentLogger, approvals: new MemoryApprovalIndex() };
    };

    // First life: the model asks for the tool, the tool runs, the next model call never returns.
    const dying = new CountingModel(2);
    const first = (await Activation.start(id, await claim(store, id), "restore", deps(dying)))!;
    const messageId = newMessageId();
    await first.accept({ messageId, content: 'tool charge {"amount": 42}', acceptedAt: Date.now() });
    const deadline = Date.now() + 5000;
    while (dying.started < 2) {
      if (Date.now() > deadline) throw new Error("the second model call never started");
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(toolRuns).toBe(1);
    first.fence(new AgentNotHereError(id, "h")); // the host dies here

    // Second life, elsewhere: picks the turn up after the tool result.
    const healthy = new CountingModel();
    const second = (await Activation.start(id, await claim(store, id), "failover", deps(healthy)))!;
    const result = await second.result(messageId);
    expect(result).toMatchObject({ status: "completed", reply: `charge returned: charged 42 (${id}:${messageId}:toolu_s1_charge)` });
    expect(toolRuns).toBe(1);
    expect(dying.completed + healthy.completed).toBe(2);
    expect(healthy.completed).toBe(1);
    const state = second.view();
    expect(state.turns).toBe(1);
    expect(state.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    await second.stop();
  });
});
