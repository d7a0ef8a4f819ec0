import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ModelProvider, ModelRequest, ModelResponse } from "@colony/actors";
import { ToolRegistry, defineTool } from "@colony/actors";
import type { EmbeddedCluster } from "../src/index.ts";
import { call, startTestCluster } from "../src/testing/index.ts";

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

const usage = { inputTokens: 10, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 };

/** Asks for `lax` with a string instead of an object (a broken model stream), then answers with what the tool said. */
class StringInputModel implements ModelProvider {
  readonly name = "string-input";
  async complete(req: ModelRequest): Promise<ModelResponse> {
    const last = req.messages[req.messages.length - 1]!;
    const result = last.content.find((b) => b.type === "tool_result");
    if (result) return { content: [{ type: "text", text: `tool said: ${JSON.stringify(result)}` }], stopReason: "end_turn", usage, model: req.model };
    return { content: [{ type: "tool_use", id: "toolu_1", name: "lax", input: '{"x": 1}' }], stopReason: "tool_use", usage, model: req.model };
  }
}

describe("a tool input that is not a JSON object", () => {
  it("goes back to the model as a tool error, the tool never runs, and it counts as outcome invalid", async () => {
    let runs = 0;
    const tools = new ToolRegistry([defineTool({ name: "lax", description: "takes anything", input: z.any(), run: () => ((runs++), { content: "ran" }) })]);
    cluster = await startTestCluster({ model: new StringInputModel(), tools });
    const host = cluster.hosts[0]!;
    expect((await call(host, "POST", "/v1/agents", { type: "assistant", key: "lax", config: { tools: ["lax"] } })).status).toBe(201);
    const res = await call(host, "POST", "/v1/agents/assistant/lax/messages", { content: "go" });
    expect(res.status).toBe(200);
    expect(res.body.reply).toContain("expected a JSON object, got string");
    expect(res.body.reply).toContain('"isError":true');
    expect(runs).toBe(0);
    const metrics = await (await host.app.request("/metrics")).text();
    expect(metrics).toContain('colony_tool_calls_total{tool="lax",outcome="invalid"} 1');
  });
});
