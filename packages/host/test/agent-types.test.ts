import { afterEach, describe, expect, it } from "vitest";
import { AgentTypeRegistry, assistantAgent, defineAgent } from "@colony/actors";
import type { EmbeddedCluster } from "../src/index.ts";
import { call, startTestCluster } from "../src/testing/index.ts";

let cluster: EmbeddedCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

describe("agent types an operator can define", () => {
  it("spawns any valid type name, with the assistant's defaults", async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    const res = await call(host, "POST", "/v1/agents", { type: "researcher", key: "r1" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: "researcher/r1", type: "researcher", config: { systemPrompt: "You are a helpful assistant." } });
    const sent = await call(host, "POST", "/v1/agents/researcher/r1/messages", { content: "hello" });
    expect(sent.body.status).toBe("completed");
    expect((await call(host, "POST", "/v1/agents", { type: "Bad.Type" })).status).toBe(400);
  });

  it("stores type defaults through PUT /v1/types, seen by every host; a spawn's config overrides them field by field", async () => {
    cluster = await startTestCluster({ hosts: 2 });
    const [a, b] = cluster.hosts as [NonNullable<(typeof cluster.hosts)[0]>, NonNullable<(typeof cluster.hosts)[0]>];
    const config = { systemPrompt: "You research.", tools: ["remember"], limits: { maxIterationsPerTurn: 3, tokenBudget: 9000 }, permissions: { remember: "approval" } };
    const put = await call(a, "PUT", "/v1/types/researcher", { config });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ type: "researcher", source: "api", config, resolved: { systemPrompt: "You research.", tools: ["remember"] } });

    const listed = (await call(b, "GET", "/v1/types")).body.types;
    expect(listed.map((t: { type: string; source: string }) => [t.type, t.source])).toEqual([
      ["assistant", "code"],
      ["researcher", "api"],
    ]);
    expect((await call(b, "GET", "/v1/types/researcher")).body.config).toEqual(config);
    expect((await call(b, "GET", "/v1/types/nobody")).status).toBe(404);

    const spawned = await call(b, "POST", "/v1/agents", { type: "researcher", key: "r2", config: { limits: { tokenBudget: 100 }, tools: ["recall"] } });
    expect(spawned.status).toBe(201);
    expect(spawned.body.config).toMatchObject({
      systemPrompt: "You research.",
      tools: ["recall"],
      limits: { maxIterationsPerTurn: 3, tokenBudget: 100 },
      permissions: { remember: "approval" },
    });
  });

  it("refuses bad type defaults with a 400 naming the field", async () => {
    cluster = await startTestCluster();
    const host = cluster.hosts[0]!;
    const unknownField = await call(host, "PUT", "/v1/types/researcher", { config: { colour: "red" } });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.details.field).toBe("config.colour");
    const tool = await call(host, "PUT", "/v1/types/researcher", { config: { tools: ["teleport"] } });
    expect(tool.status).toBe(400);
    expect(tool.body.error.message).toContain("config.tools");
    const model = await call(host, "PUT", "/v1/types/researcher", { config: { model: "gpt-4o" } });
    expect(model.status).toBe(400);
    expect(model.body.error.message).toContain("config.model");
    expect((await call(host, "PUT", "/v1/types/Not.Valid", { config: {} })).status).toBe(400);
    expect((await call(host, "GET", "/v1/types/researcher")).status).toBe(404);
  });

  it("code-registered types keep working, and operator defaults layer over theirs", async () => {
    const types = new AgentTypeRegistry([assistantAgent, defineAgent({ type: "poet", description: "Writes verse.", defaults: { systemPrompt: "You rhyme.", limits: { maxIterationsPerTurn: 2 } } })]);
    cluster = await startTestCluster({ types });
    const host = cluster.hosts[0]!;
    expect((await call(host, "POST", "/v1/agents", { type: "poet", key: "p1" })).body.config).toMatchObject({ systemPrompt: "You rhyme.", limits: { maxIterationsPerTurn: 2 } });
    await call(host, "PUT", "/v1/types/poet", { config: { limits: { tokenBudget: 500 } } });
    const view = (await call(host, "GET", "/v1/types/poet")).body;
    expect(view).toMatchObject({ source: "code+api", description: "Writes verse.", resolved: { systemPrompt: "You rhyme.", limits: { maxIterationsPerTurn: 2, tokenBudget: 500 } } });
    expect((await call(host, "POST", "/v1/agents", { type: "poet", key: "p2" })).body.config).toMatchObject({ systemPrompt: "You rhyme.", limits: { maxIterationsPerTurn: 2, tokenBudget: 500 } });
  });
});
