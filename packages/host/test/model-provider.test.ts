import { afterEach, describe, expect, it } from "vitest";
import type { LogFields, Logger } from "@colony/actors";
import { AnthropicModel, ScriptedModel } from "@colony/actors";
import { EmbeddedCluster } from "../src/embedded.ts";
import { call, eventually, startTestCluster, testConfig } from "../src/testing/index.ts";

/** A logger that keeps the warnings it is given. */
function warningsLogger(lines: { fields: LogFields; msg: string }[]): Logger {
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (fields, msg) => void lines.push({ fields, msg }),
    error() {},
    child: () => logger,
  };
  return logger;
}

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

describe("the model provider an agent really runs on", () => {
  it("refuses a model name the provider cannot serve with a 400 naming the field", async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    const res = await call(host, "POST", "/v1/agents", { type: "assistant", key: "gpt", config: { model: "gpt-4o" } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.message).toContain("config.model");
    expect(res.body.error.message).toContain("gpt-4o");
    const worker = await call(host, "POST", "/v1/agents", { type: "assistant", key: "boss", config: { tools: ["delegate"], workers: { r: { model: "gpt-4o" } } } });
    expect(worker.status).toBe(400);
    expect(worker.body.error.message).toContain("config.workers.r.model");
    expect((await call(host, "GET", "/v1/agents/assistant/gpt")).status).toBe(404);
  });

  it("shows the effective provider in the agent view and the trace", async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    const spawned = await call(host, "POST", "/v1/agents", { type: "assistant", key: "opus", config: { model: "claude-opus-4-1" } });
    expect(spawned.status).toBe(201);
    expect(spawned.body).toMatchObject({ provider: "scripted", config: { model: "claude-opus-4-1" } });
    await call(host, "POST", "/v1/agents/assistant/opus/messages", { content: "hello" });
    expect((await call(host, "GET", "/v1/agents/assistant/opus")).body.provider).toBe("scripted");
    const request = await eventually(async () => {
      const entries = (await call(host, "GET", "/v1/agents/assistant/opus/trace")).body.entries;
      const found = entries.find((e: { event: { kind: string } }) => e.event.kind === "model_request");
      expect(found).toBeDefined();
      return found.event;
    });
    expect(request).toMatchObject({ model: "claude-opus-4-1", provider: "scripted" });
  });

  it("warns at spawn when the configured model runs as the offline scripted model", async () => {
    const warnings: { fields: LogFields; msg: string }[] = [];
    cluster = await EmbeddedCluster.start({ config: testConfig(), model: new ScriptedModel(), logger: warningsLogger(warnings), defaultMetrics: false });
    await call(cluster.hosts[0]!, "POST", "/v1/agents", { type: "assistant", key: "offline", config: { model: "claude-opus-4-1" } });
    expect(warnings).toContainEqual({
      fields: { agent: "assistant/offline", model: "claude-opus-4-1", provider: "scripted" },
      msg: expect.stringContaining("offline scripted model"),
    });
  });

  it("the Anthropic provider serves claude-* models only", () => {
    const anthropic = new AnthropicModel({ apiKey: "sk-test" });
    expect(anthropic.refuses("claude-sonnet-4-6")).toBeNull();
    expect(anthropic.refuses("gpt-4o")).toContain("claude-* models only");
  });
});
