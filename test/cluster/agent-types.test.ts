import { describe, expect, it } from "vitest";
import { http } from "../harness/colony-process.ts";
import { colony } from "../harness/cli.ts";
import { startProcessCluster } from "../harness/cluster.ts";

describe("agent types across real host processes", { timeout: 180_000 }, () => {
  it("a type defined through one host (colony types put) is listed and spawned through another, its defaults stored in Redis", async () => {
    await using c = await startProcessCluster({ hosts: 2 });
    const [first, second] = [...c.hosts.keys()] as [string, string];
    const put = await colony(["types", "put", "researcher", "--config", '{"systemPrompt":"You research.","tools":["remember"],"limits":{"tokenBudget":9000}}'], {
      COLONY_URL: c.url(first),
    });
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toContain("stored defaults of type researcher");

    const ls = await colony(["types", "ls"], { COLONY_URL: c.url(second) });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/^TYPE\s+SOURCE\s+MODEL\s+TOOLS$/m);
    expect(ls.stdout).toMatch(/^researcher\s+api\s+\S+\s+remember$/m);
    expect(ls.stdout).toMatch(/^assistant\s+code\s+/m);
    const got = await colony(["types", "get", "researcher", "--json"], { COLONY_URL: c.url(second) });
    expect(JSON.parse(got.stdout)).toMatchObject({ type: "researcher", source: "api", config: { systemPrompt: "You research." } });

    const spawned = await http(c.url(second), "POST", "/v1/agents", { type: "researcher", key: "r1", config: { limits: { tokenBudget: 50 } } });
    expect(spawned.status).toBe(201);
    expect(spawned.body.config).toMatchObject({ systemPrompt: "You research.", tools: ["remember"], limits: { tokenBudget: 50 } });
    const sent = await http(c.url(first), "POST", "/v1/agents/researcher/r1/messages", { content: "remember topic = tides" });
    expect(sent.body.status).toBe("completed");

    const bad = await colony(["types", "put", "researcher", "--config", '{"tools":["teleport"]}'], { COLONY_URL: c.url(first) });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("config.tools");
  });
});
