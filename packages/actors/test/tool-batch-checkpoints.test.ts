import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { AgentId, AgentKey, AgentType, Clock, ModelProvider, ModelRequest, ModelResponse, ToolDefinition } from "../src/index.ts";
import {
  Activation,
  AgentStore,
  MemoryApprovalIndex,
  MemoryStoreDriver,
  NactRuntime,
  ToolRegistry,
  defineTool,
  initialState,
  newMessageId,
  noopMetrics,
  resolveConfig,
  silentLogger,
  systemClock,
} from "../src/index.ts";
import type { CommitRequest } from "../src/store/driver.ts";
import { claim } from "../src/testing/claim.ts";
import { waitFor } from "../src/testing/wait.ts";

/** A memory driver that counts its commits and can hold one of them (a slow Redis write). */
class CountingDriver extends MemoryStoreDriver {
  readonly commits: CommitRequest[] = [];
  /** The 1-based commit (counted from the last reset) to hold until `release()`. */
  holdAt: number | undefined;
  held = false;
  private releaseHeld = () => {};
  override async commit(agent: string, req: CommitRequest): Promise<void> {
    this.commits.push(req);
    if (this.commits.length === this.holdAt) {
      this.held = true;
      await new Promise<void>((r) => (this.releaseHeld = r));
    }
    return super.commit(agent, req);
  }
  release(): void {
    this.releaseHeld();
  }
}

/** Asks for one call of each of `tools` in one response, then answers once their results are in. */
class BatchModel implements ModelProvider {
  readonly name = "batch";
  constructor(private readonly tools: string[]) {}
  async complete(req: ModelRequest): Promise<ModelResponse> {
    const usage = { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 };
    const last = req.messages.at(-1)!;
    if (last.content.some((b) => b.type === "tool_result")) return { content: [{ type: "text", text: "all done" }], stopReason: "end_turn", usage, model: this.name };
    const content = this.tools.map((name, i) => ({ type: "tool_use" as const, id: `toolu_${i}`, name, input: { n: i } }));
    return { content, stopReason: "tool_use", usage, model: this.name };
  }
}

const tool = (name: string, run: () => Promise<void> = async () => {}) =>
  defineTool({ name, description: name, input: z.object({ n: z.number() }), run: async ({ n }) => (await run(), { content: `${name} ${n} done` }) });

const runtimes: NactRuntime[] = [];
afterEach(() => runtimes.splice(0).forEach((r) => r.close()));

/** An agent whose model asks for one call of each tool at once, in a store that counts commits. */
async function batchAgent(tools: ToolDefinition<{ n: number }>[], clock: Clock = systemClock) {
  const driver = new CountingDriver();
  const store = new AgentStore(driver);
  const registry = new ToolRegistry(tools);
  const names = tools.map((t) => t.name);
  const id = "assistant/batch" as AgentId;
  await store.create(initialState(id, "assistant" as AgentType, "batch" as AgentKey, resolveConfig({}, { tools: names }), Date.now()));
  const start = async () => {
    const runtime = new NactRuntime();
    runtimes.push(runtime);
    const deps = { hostId: "h" as never, store, model: new BatchModel(names), tools: registry, runtime, clock, metrics: noopMetrics, logger: silentLogger, approvals: new MemoryApprovalIndex() };
    return (await Activation.start(id, await claim(store, id), "restore", deps))!;
  };
  return { driver, store, id, start };
}

/** Runs one message whose model asks for `calls` tool calls at once; the commits it made. */
async function turnWith(calls: number): Promise<CountingDriver> {
  const { driver, start } = await batchAgent(Array.from({ length: calls }, (_, i) => tool(`work${i}`)));
  const activation = await start();
  const messageId = newMessageId();
  driver.commits.length = 0;
  await activation.accept({ messageId, content: "go", acceptedAt: Date.now() });
  expect((await activation.result(messageId))?.reply).toBe("all done");
  return driver;
}

describe("a tool batch's checkpoints", () => {
  it("a single tool call costs no checkpoint of its own: the results' checkpoint holds it", async () => {
    const driver = await turnWith(1);
    // The model's request for the tool, the tool's result folded into the conversation, the turn's end.
    expect(driver.commits).toHaveLength(3);
  });

  // A result that finishes while a sibling still runs is checkpointed at once:
  // test/integration/turn-checkpoints.test.ts kills the host between the two.
  it("results that finish together after the first are written with the batch's end, not alone", async () => {
    const driver = await turnWith(5);
    // The request, the first result while its siblings ran, the results, the end.
    expect(driver.commits).toHaveLength(4);
  });

  it("the last result is written before the batch gives up on a drain deadline, and is not run again on the next host", async () => {
    // The drain deadline's timer, fired by the test when it chooses.
    const DRAIN_MS = 987_654;
    let fireDeadline: (() => void) | undefined;
    const clock: Clock = {
      now: () => systemClock.now(),
      setTimeout: (fn, ms) => (ms === DRAIN_MS ? ((fireDeadline = fn), { cancel: () => {} }) : systemClock.setTimeout(fn, ms)),
    };
    const runs = { fast: 0, slow: 0 };
    let releaseSlow = () => {};
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    const k = await batchAgent([tool("fast", async () => void runs.fast++), tool("slow", async () => (runs.slow++, await slowGate))], clock);
    const first = await k.start();
    const messageId = newMessageId();
    k.driver.commits.length = 0;
    k.driver.holdAt = 2; // the fast result's own checkpoint (the 1st is the model's request for tools)
    await first.accept({ messageId, content: "go", acceptedAt: Date.now() });
    await waitFor(() => k.driver.held, { message: "the fast result's checkpoint to start" });
    releaseSlow();
    // The slow call's result is in the state, not yet in any write: no sibling runs now.
    await waitFor(() => first.view().turn?.toolResults?.["toolu_1"], { message: "the slow result to be recorded" });
    const stopped = first.stop({ abortAfterMs: DRAIN_MS });
    await waitFor(() => fireDeadline, { message: "the drain deadline to be set" });
    fireDeadline!();
    k.driver.release();
    await stopped;

    const second = await k.start();
    expect((await second.result(messageId))?.reply).toBe("all done");
    expect(runs).toEqual({ fast: 1, slow: 1 });
  });
});
