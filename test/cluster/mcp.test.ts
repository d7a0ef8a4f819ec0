/**
 * MCP servers across real host processes (Redis, NATS, `colony host` child
 * processes): a server declared through one host is connected to and used
 * through another at once (the NATS announcement, not the 30 s refresh);
 * the declaration sits in Redis with its secret reference, the secret
 * itself reaches only the MCP server, never Redis, the API or the logs.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";
import { startMcpFixture } from "../mcp/fixture-server.ts";

const SECRET = "mcp-cluster-secret-0b7c1e";

describe("MCP servers across real host processes", { timeout: 180_000 }, () => {
  it("declared through one host, used through another; the secret reaches only the MCP server", async () => {
    await using mcp = Object.assign(await startMcpFixture(), { [Symbol.asyncDispose]: () => mcp.close() });
    await using c = await startProcessCluster({ hosts: 2, env: { COLONY_SECRET_CALC_TOKEN: SECRET } });
    const [first, second] = [...c.hosts.keys()] as [string, string];

    const put = await http(c.url(first), "PUT", "/v1/mcp/calc", { url: mcp.url, headers: { Authorization: "Bearer {{secret:CALC_TOKEN}}" } });
    expect(put.status).toBe(201);
    expect(put.body.status).toMatchObject({ connected: true, tools: 3 });
    await waitFor(async () => (await http(c.url(second), "GET", "/v1/mcp/calc")).body?.status?.connected === true, { timeoutMs: 10_000, message: "the second host connected" });

    const spawned = await http(c.url(second), "POST", "/v1/agents", { type: "assistant", key: "calcy", config: { tools: ["calc__add"] } });
    expect(spawned.status).toBe(201);
    const sent = await http(c.url(first), "POST", "/v1/agents/assistant/calcy/messages", { content: 'tool calc__add {"a": 2, "b": 3}' });
    expect(sent.body).toMatchObject({ status: "completed", reply: "calc__add returned: 5" });
    expect(mcp.calls.at(-1)).toMatchObject({ tool: "add", args: { a: 2, b: 3 }, meta: { "colony/idempotencyKey": expect.stringContaining("assistant/calcy") } });
    expect(mcp.authorizations.length).toBeGreaterThan(0);
    expect(mcp.authorizations.every((a) => a === `Bearer ${SECRET}`)).toBe(true);

    const redis = new Redis(c.redis.url);
    try {
      const stored = await redis.hget("colony:mcp", "calc");
      expect(stored).toContain("{{secret:CALC_TOKEN}}");
      expect(stored).not.toContain(SECRET);
    } finally {
      redis.disconnect();
    }
    // The owner writes trace entries a moment after the turn (TRACE_FLUSH_DELAY_MS); this read may go through the other host.
    const trace = await waitFor(
      async () => {
        const read = await http(c.url(first), "GET", "/v1/agents/assistant/calcy/trace");
        return read.body.entries.some((e: any) => e.event.kind === "tool_result" && e.event.tool === "calc__add" && e.event.content === "5") && read;
      },
      { timeoutMs: 10_000, message: "the tool result in the trace" },
    );
    for (const body of [put.body, (await http(c.url(second), "GET", "/v1/mcp")).body, trace.body]) expect(JSON.stringify(body)).not.toContain(SECRET);
    for (const host of c.hosts.values()) {
      expect(JSON.stringify(host.logs)).not.toContain(SECRET);
      expect(host.stderr()).not.toContain(SECRET);
    }

    expect((await http(c.url(second), "DELETE", "/v1/mcp/calc")).status).toBe(204);
    await waitFor(async () => (await http(c.url(first), "GET", "/v1/mcp")).body.servers.length === 0, { timeoutMs: 10_000 });
    const refused = await http(c.url(first), "POST", "/v1/agents", { type: "assistant", key: "late", config: { tools: ["calc__add"] } });
    expect(refused.status).toBe(400);
  });
});
