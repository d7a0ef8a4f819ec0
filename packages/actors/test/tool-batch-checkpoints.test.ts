import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { AgentId, AgentKey, AgentType, ModelProvider, ModelRequest, ModelResponse } from "../src/index.ts";
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

/** A memory driver that counts its commits. */
class CountingDriver extends MemoryStoreDriver {
  readonly commits: CommitRequest[] = [];
  override async commit(agent: string, req: CommitRequest): Promise<void> {
    this.commits.push(req);
    return super.commit(agent, req);
  }
}

/** Asks for `calls` tool calls in one response, then answers once their results are in. */
class BatchModel implements ModelProvider {
  readonly name = "batch";
  constructor(private readonly calls: number) {}
  async complete(req: ModelRequest): Promise<ModelResponse> {
    const usage = { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 };
    const last = req.messages.at(-1)!;
    if (last.content.some((b) => b.type === "tool_result")) return { content: [{ type: "text", text: "all done" }], stopReason: "end_turn", usage, model: this.name };
    const content = Array.from({ length: this.calls }, (_, i) => ({ type: "tool_use" as const, id: `toolu_${i}`, name: "work", input: { n: i } }));
    return { content, stopReason: "tool_use", usage, model: this.name };
  }
}

const runtimes: NactRuntime[] = [];
afterEach(() => runtimes.splice(0).forEach((r) => r.close()));

/** Runs one message whose model asks for `calls` tool calls at once; the commits it made. */
async function turnWith(calls: number): Promise<CountingDriver> {
  const driver = new CountingDriver();
  const store = new AgentStore(driver);
  const tools = new ToolRegistry([
    defineTool({ name: "work", description: "works", input: z.object({ n: z.number() }), run: async ({ n }) => ({ content: `done ${n}` }) }),
  ]);
  const id = "assistant/batch" as AgentId;
  await store.create(initialState(id, "assistant" as AgentType, "batch" as AgentKey, resolveConfig({}, { tools: ["work"] }), Date.now()));
  const runtime = new NactRuntime();
  runtimes.push(runtime);
  const deps = { hostId: "h" as never, store, model: new BatchModel(calls), tools, runtime, clock: systemClock, metrics: noopMetrics, logger: silentLogger, approvals: new MemoryApprovalIndex() };
  const activation = (await Activation.start(id, await claim(store, id), "restore", deps))!;
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
});
