import { describe, expect, it } from "vitest";
import { startColony } from "../harness/colony-process.ts";

async function send(url: string, key: string): Promise<Response> {
  await fetch(`${url}/v1/agents`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "assistant", key, config: { tools: ["remember"] } }) });
  return fetch(`${url}/v1/agents/assistant/${key}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content: "remember a = b" }) });
}

/** COLONY_MESSAGE_TIMING=1: where a message's milliseconds went, as a Server-Timing header. */
describe("message timing", { timeout: 120_000 }, () => {
  it("answers each message with its stages in order, and nothing when it is off", async () => {
    await using on = await startColony(["dev"], { COLONY_MESSAGE_TIMING: "1" });
    const res = await send(on.url, "timed");
    expect(res.status).toBe(200);
    const header = res.headers.get("server-timing") ?? "";
    const stages = header.split(", ").map((part) => {
      const m = /^([a-z_.]+);dur=(\d+\.\d{3})$/.exec(part);
      expect(m, part).not.toBeNull();
      return m![1]!;
    });
    // A response asking for a tool is checkpointed before the tool runs.
    const order = ["http", "handler", "parsed", "route", "lookup", "accepted", "turn", "model_response", "commit", "committed", "tool_result", "result"];
    expect(stages.filter((s) => order.includes(s)).filter((s, i, all) => all.indexOf(s) === i), header).toEqual(order);

    await using off = await startColony(["dev"]);
    const plain = await send(off.url, "untimed");
    expect(plain.status).toBe(200);
    expect(plain.headers.get("server-timing")).toBeNull();
  });
});
