import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ModelProvider, ModelRequest, ModelResponse } from "@colony/actors";
import { ToolRegistry, defineTool } from "@colony/actors";
import type { EmbeddedCluster, HostNode } from "../src/index.ts";
import { MAX_BODY_BYTES } from "../src/index.ts";
import { call, conversation, startTestCluster } from "../src/testing/index.ts";

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

const usage = { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 };

/** Answers "ok" to a message starting with "plain"; to anything else it calls `ping` with the same arguments forever. */
class StubbornModel implements ModelProvider {
  readonly name = "stubborn";
  async complete(req: ModelRequest): Promise<ModelResponse> {
    const first = req.messages[req.messages.length - 1]!.content[0]!;
    if (first.type === "text" && first.text.startsWith("plain")) return { content: [{ type: "text", text: "ok" }], stopReason: "end_turn", usage, model: req.model };
    return { content: [{ type: "tool_use", id: `toolu_${req.messages.length}`, name: "ping", input: {} }], stopReason: "tool_use", usage, model: req.model };
  }
}

describe("an agent with a context larger than an envelope, read through a host that does not run it", () => {
  it("GET and resume answer 200 with the bounded view; the conversation comes page by page", async () => {
    const tools = new ToolRegistry([defineTool({ name: "ping", description: "", input: z.object({}), run: () => ({ content: "pong" }) })]);
    cluster = await startTestCluster({ hosts: 2, model: new StubbornModel(), tools });
    const [a, b] = cluster.hosts as [HostNode, HostNode];
    expect((await call(a, "POST", "/v1/agents", { type: "assistant", key: "heavy", config: { tools: ["ping"] } })).status).toBe(201);
    // Two messages near the body limit (é: 2 bytes, 1 character), then one that trips the loop check.
    const big = `plain ${"é".repeat((MAX_BODY_BYTES - 100) / 2)}`;
    for (let i = 0; i < 2; i++) expect((await call(a, "POST", "/v1/agents/assistant/heavy/messages", { content: big })).body.reply).toBe("ok");
    expect((await call(a, "POST", "/v1/agents/assistant/heavy/messages", { content: "go" })).body.error.code).toBe("loop_detected");
    const owner = (await call(a, "GET", "/v1/agents/assistant/heavy")).body.host as string;
    const remote = owner === a.hostId ? b : a;

    const view = await call(remote, "GET", "/v1/agents/assistant/heavy");
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ host: owner, status: "suspended", turns: 3 });
    expect(view.text.length).toBeLessThan(16 * 1024);
    const resumed = await call(remote, "POST", "/v1/agents/assistant/heavy/resume");
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ host: owner, status: "idle", suspension: null });
    const messages = await conversation(remote, "assistant/heavy");
    expect(messages).toHaveLength(view.body.messageCount);
    expect(messages[0].content[0].text).toBe(big);
  });
});
