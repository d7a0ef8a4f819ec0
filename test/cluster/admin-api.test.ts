import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { conversationOf, http } from "../harness/colony-process.ts";
import { startProcessCluster } from "../harness/cluster.ts";

const LIMIT = 256 * 1024;
/** A JSON send body of exactly `bytes` bytes: `é` is 2 bytes of UTF-8 but 1 character, so the content stays under 131,072 characters. */
function bodyOf(bytes: number): string {
  const wrapper = Buffer.byteLength(JSON.stringify({ content: "" }));
  const body = JSON.stringify({ content: "é".repeat((bytes - wrapper) / 2) });
  expect(Buffer.byteLength(body)).toBe(bytes);
  return body;
}

async function post(base: string, path: string, body: string): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body });
  return { status: res.status, body: await res.json() };
}

function cli(url: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ["packages/host/bin/colony.js", ...args], { env: { PATH: process.env.PATH, COLONY_URL: url }, maxBuffer: 64 * 1024 * 1024 }, (e, out, err) =>
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }),
    ),
  );
}

describe("the admin API across real host processes", { timeout: 120_000 }, () => {
  it("one body limit for local and remote agents; any size of agent read from any host, its conversation page by page", async () => {
    await using c = await startProcessCluster({ hosts: 2 });
    const id = "assistant/big";
    expect((await http(c.url(), "POST", "/v1/agents", { type: "assistant", key: "big" })).status).toBe(201);
    expect((await http(c.url(), "POST", `/v1/agents/${id}/messages`, { content: "hello" })).status).toBe(200);
    const owner = (await http(c.url(), "GET", `/v1/agents/${id}`)).body.host as string;
    const other = [...c.hosts.keys()].find((h) => h !== owner)!;
    const [local, remote] = [c.url(owner), c.url(other)];

    // Just under (exactly at) the limit: accepted through the owner and through the other host alike.
    for (const via of [local, remote]) {
      const res = await post(via, `/v1/agents/${id}/messages`, bodyOf(LIMIT));
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
      expect(res.body.reply.length).toBeGreaterThan(131_000);
    }
    // One byte over (two: é is two bytes): 413 at the edge, whichever host.
    for (const via of [local, remote]) {
      const res = await post(via, `/v1/agents/${id}/messages`, bodyOf(LIMIT + 2));
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe("payload_too_large");
    }

    // The context is now over 1 MiB (two 256 KiB messages and their echoes); any host reads the agent.
    for (const via of [local, remote]) {
      const res = await fetch(`${via}/v1/agents/${id}`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text.length).toBeLessThan(16 * 1024);
      expect(JSON.parse(text)).toMatchObject({ host: owner, turns: 3, messageCount: 6 });
      expect(JSON.parse(text).messages).toBeUndefined();
    }
    const messages = await conversationOf(remote, id);
    expect(messages).toHaveLength(6);
    expect(messages[2].content[0].text).toBe("é".repeat((LIMIT - 14) / 2));
    expect(Buffer.byteLength(JSON.stringify(messages))).toBeGreaterThan(1_000_000);
    expect(await conversationOf(local, id)).toEqual(messages);
    // Pages stay small: the first two short messages together, then one 256 KiB message a page.
    const first = (await http(remote, "GET", `/v1/agents/${id}/messages`)).body;
    expect(first).toMatchObject({ start: 0, total: 6, nextCursor: "2" });
    expect(first.messages).toHaveLength(2);
    const second = (await http(remote, "GET", `/v1/agents/${id}/messages?cursor=2&limit=100`)).body;
    expect(second).toMatchObject({ start: 2, total: 6, nextCursor: "3" });

    // The CLI follows the cursor.
    const got = await cli(remote, ["agents", "get", id, "--messages", "--json"]);
    expect(got.code, got.err).toBe(0);
    expect(JSON.parse(got.out).messages).toEqual(messages);
  });
});
