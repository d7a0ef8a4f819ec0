/**
 * What a turn makes durable, and when (issue 11, cases 7 and 8), on real
 * Redis: each parallel tool result as it completes; a compaction checkpoint
 * refused as stale stops the turn before another model call.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ContentBlock, ModelProvider, ModelRequest, ModelResponse } from "@colony/actors";
import { AgentNotHereError, COMPACTION_SYSTEM_PROMPT, defineTool, zeroUsage } from "@colony/actors";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";
import type { Kit } from "./activation-kit.ts";
import { CountingModel, agentKit, gate, within } from "./activation-kit.ts";
import { claim } from "@colony/actors/testing";

let redis: RedisServer;
const kits: Kit[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.close()));
});
afterAll(async () => {
  await redis?.stop();
});

/** Asks for two tools at once (fast and slow), then answers once their results are in. */
class FanOutModel implements ModelProvider {
  readonly name = "fan-out";
  async complete(req: ModelRequest): Promise<ModelResponse> {
    const last = req.messages[req.messages.length - 1]!;
    const content: ContentBlock[] = last.content.some((b) => b.type === "tool_result")
      ? [{ type: "text", text: "both done" }]
      : [
          { type: "tool_use", id: "toolu_fast", name: "fast", input: {} },
          { type: "tool_use", id: "toolu_slow", name: "slow", input: {} },
        ];
    return { content, stopReason: content[0]!.type === "tool_use" ? "tool_use" : "end_turn", usage: zeroUsage(), model: req.model };
  }
}

describe("parallel tool calls", () => {
  it("a call that completed is checkpointed at once and not run again when the host dies while its sibling runs", async () => {
    const runs = { fast: 0, slow: 0 };
    let slowHangs = true;
    const tools = [
      defineTool({ name: "fast", description: "returns at once", input: z.object({}), run: () => (runs.fast++, { content: "fast done" }) }),
      defineTool({
        name: "slow",
        description: "hangs in the first life",
        input: z.object({}),
        run: async (_i, ctx) => {
          runs.slow++;
          if (slowHangs) await new Promise((r) => ctx.signal.addEventListener("abort", r));
          return { content: "slow done" };
        },
      }),
    ];
    const k = await agentKit(redis.url, { config: { tools: ["fast", "slow"] }, tools, model: new CountingModel(new FanOutModel()) });
    kits.push(k);
    const first = await k.start();
    const m = k.message("go");
    await first.accept(m);
    await waitFor(() => runs.fast === 1 && runs.slow === 1, { timeoutMs: 15_000, message: "both tools to start" });
    await waitFor(async () => (await k.store.readState(k.id))?.turn?.toolResults?.["toolu_fast"], { timeoutMs: 15_000, message: "the fast result to be checkpointed on its own" });
    first.fence(new AgentNotHereError(k.id, "h1")); // the host dies here
    slowHangs = false;

    const second = await k.start();
    const result = await within(second.result(m.messageId), 15_000, "the resumed turn");
    expect(result?.reply).toBe("both done");
    expect(runs).toEqual({ fast: 1, slow: 2 });
    const state = (await k.store.readState(k.id))!;
    const results = state.messages.flatMap((x) => x.content.flatMap((b) => (b.type === "tool_result" ? [b.content] : [])));
    expect(results).toEqual(["fast done", "slow done"]);
    expect(state.turn).toBeNull();
  });
});

describe("compaction", () => {
  it("a compaction checkpoint refused as stale ends the activation before another model call", async () => {
    const past = ["one", "two", "three"].flatMap((t) => [
      { role: "user" as const, content: [{ type: "text" as const, text: `message ${t} `.repeat(20) }] },
      { role: "assistant" as const, content: [{ type: "text" as const, text: `answer ${t} `.repeat(20) }] },
    ]);
    const k = await agentKit(redis.url, { config: { compaction: { atTokens: 100, keepTurns: 1 } }, prepare: (s) => ({ ...s, messages: past, turns: 3 }) });
    kits.push(k);
    const held = gate();
    k.model.hold = (req) => (req.system === COMPACTION_SYSTEM_PROMPT ? held.promise : undefined);
    const a = await k.start();
    await a.accept(k.message("hello"));
    await waitFor(() => k.model.compactions === 1, { timeoutMs: 15_000, message: "the compaction call" });
    await claim(k.store, k.id); // a newer activation owns the agent now: this one is a zombie
    held.open();
    await waitFor(() => !a.active, { timeoutMs: 15_000, message: "the zombie to stop" });
    expect(k.model.calls).toBe(1);
  });
});
