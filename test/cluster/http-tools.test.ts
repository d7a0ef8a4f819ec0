import { describe, expect, it } from "vitest";
import { conversationOf, http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { hang, json, startHttpService } from "../harness/http-service.ts";
import { waitFor } from "../harness/wait.ts";

/**
 * HTTP tools across real host processes: declared through one host, called
 * by an agent on another; the host running the call SIGKILLed while the
 * service holds the request open; the turn resumes on another host and the
 * service sees the same Idempotency-Key again, so it can deduplicate. The
 * secret the hosts hold reaches the service and nothing else.
 */

const SECRET = "pk-3c8e1f0b7a92d4";

describe("HTTP tools in a cluster of processes", { timeout: 120_000 }, () => {
  it("the same Idempotency-Key after the host is SIGKILLed mid-call and the turn resumes elsewhere; the secret appears nowhere", async () => {
    await using service = await startHttpService();
    service.respond(hang, json(201, { charge: "ch_1", status: "captured" }));
    await using c = await startProcessCluster({ hosts: 2, env: { COLONY_SECRET_PAY_TOKEN: SECRET } });
    const [first, second] = c.liveHostIds() as [string, string];

    const put = await http(c.url(first), "PUT", "/v1/tools/charge", {
      description: "Charge a customer.",
      inputSchema: { type: "object", properties: { amount: { type: "number", exclusiveMinimum: 0 }, currency: { type: "string", enum: ["EUR", "USD"] } }, required: ["amount", "currency"] },
      http: { method: "POST", url: `${service.url}/charges`, headers: { authorization: "Bearer {{secret:PAY_TOKEN}}" }, timeoutMs: 60_000, retries: 0 },
    });
    expect(put.status).toBe(201);
    // Declared on one host, spawned at once through the other.
    expect((await http(c.url(second), "POST", "/v1/agents", { type: "assistant", key: "payer", config: { tools: ["charge"] } })).status).toBe(201);
    const sent = await http(c.url(second), "POST", "/v1/agents/assistant/payer/messages", { content: 'tool charge {"amount":5,"currency":"EUR"}', wait: false });
    expect(sent.status).toBe(202);
    const key = `assistant/payer:${sent.body.messageId}:toolu_s1_charge`;

    await waitFor(() => service.requests.length === 1, { timeoutMs: 20_000, message: "the service to receive the charge" });
    expect(service.requests[0]!.headers["idempotency-key"]).toBe(key);
    expect(service.requests[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);
    const owner = (await http(c.url(), "GET", "/v1/agents/assistant/payer")).body.host as string;
    await c.kill(owner);

    await waitFor(async () => (await http(c.url(), "GET", "/v1/agents/assistant/payer")).body.turns === 1, {
      timeoutMs: 30_000,
      message: "the turn to resume and finish on the surviving host",
    });
    const agent = (await http(c.url(), "GET", "/v1/agents/assistant/payer")).body;
    expect(agent.host).not.toBe(owner);
    expect(service.requests).toHaveLength(2);
    expect(service.requests.map((r) => r.headers["idempotency-key"])).toEqual([key, key]);
    expect(JSON.parse(service.requests[1]!.body)).toEqual({ amount: 5, currency: "EUR" });
    expect((await conversationOf(c.url(), "assistant/payer")).at(-1).content[0].text).toContain('"charge":"ch_1"');

    // The owner writes trace entries a moment after the turn (TRACE_FLUSH_DELAY_MS); this read may go through another host.
    const trace = await waitFor(
      async () => {
        const read = (await http(c.url(), "GET", "/v1/agents/assistant/payer/trace")).body;
        return read.entries.some((e: any) => e.event.kind === "tool_result" && e.event.outcome === "ok") && read;
      },
      { timeoutMs: 10_000, message: "the tool result in the trace" },
    );
    const results = trace.entries.filter((e: any) => e.event.kind === "tool_result");
    expect(results.at(-1).event).toMatchObject({ outcome: "ok", details: { status: 201, attempts: 1, idempotencyKey: key } });
    expect(trace.entries.filter((e: any) => e.event.kind === "tool_call").every((e: any) => e.event.idempotencyKey === key)).toBe(true);

    const survivor = c.liveHostIds()[0]!;
    const seen = [
      JSON.stringify(trace),
      JSON.stringify((await http(c.url(), "GET", "/v1/tools")).body),
      JSON.stringify((await http(c.url(), "GET", "/v1/agents/assistant/payer")).body),
      await (await fetch(`${c.url(survivor)}/metrics`)).text(),
      ...[...c.hosts.values(), ...c.directories].map((p) => JSON.stringify(p.logs) + p.stderr()),
    ].join("\n");
    expect(seen).toContain("{{secret:PAY_TOKEN}}");
    expect(seen).toContain("HTTP tool declared");
    expect(seen.includes(SECRET)).toBe(false);
  });
});
