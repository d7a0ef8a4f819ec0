import { describe, expect, it } from "vitest";
import { http, startColony } from "../harness/colony-process.ts";

describe("colony dev (a real child process, driven over HTTP)", { timeout: 120_000 }, () => {
  it("serves the walkthrough of the README end to end and exits 0 on SIGTERM", async () => {
    await using dev = await startColony(["dev"]);
    expect(dev.logs.some((l) => String(l.msg).includes("offline scripted model"))).toBe(true);

    const spawned = await http(dev.url, "POST", "/v1/agents", { type: "assistant", key: "alice", config: { tools: ["remember", "recall"] } });
    expect(spawned.status).toBe(201);
    expect((await http(dev.url, "POST", "/v1/agents/assistant/alice/messages", { content: "hello" })).body.reply).toBe(
      'You said: "hello" (message #1 of this conversation).',
    );
    expect((await http(dev.url, "POST", "/v1/agents/assistant/alice/messages", { content: "remember colour = green" })).body.reply).toBe(
      "I will remember that colour is green.",
    );
    expect((await http(dev.url, "POST", "/v1/agents/assistant/alice/messages", { content: "what is colour?" })).body.reply).toBe("colour is green.");
    const state = await http(dev.url, "GET", "/v1/agents/assistant/alice");
    expect(state.body).toMatchObject({ turns: 3, status: "idle", memory: { colour: "green" } });
    expect(state.body.host).toMatch(/.+/);
    expect((await http(dev.url, "GET", "/v1/agents")).body.agents).toHaveLength(1);

    const metrics = await (await fetch(`${dev.url}/metrics`)).text();
    expect(metrics).toContain('colony_messages_total{type="assistant",outcome="completed"} 3');
    expect(metrics).toContain("process_cpu_user_seconds_total");

    // Every log line is a JSON object with a level and a message.
    expect(dev.logs.every((l) => typeof l.level === "string" && typeof l.msg === "string")).toBe(true);
    dev.signal("SIGTERM");
    expect(await dev.exited).toBe(0);
    expect(dev.logs.some((l) => l.msg === "stopped")).toBe(true);
  });

  it("refuses to bind a non-loopback address without an admin token", async () => {
    await expect(startColony(["dev"], { COLONY_HTTP_HOST: "0.0.0.0" }, 10_000)).rejects.toThrow(/COLONY_ADMIN_TOKEN/);
  });

  it("names the variable when the environment is invalid", async () => {
    await expect(startColony(["dev"], { COLONY_HTTP_PORT: "eighty" }, 10_000)).rejects.toThrow(/COLONY_HTTP_PORT="eighty"/);
  });
});
