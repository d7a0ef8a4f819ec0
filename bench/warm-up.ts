import { http } from "../test/harness/colony-process.ts";
import { KeepAliveClient } from "./http-client.ts";

/**
 * Sends `count` messages, `inFlight` at a time, round-robin over the agents
 * `ids` (`type/key`), through `client`. New host processes run Colony's
 * message path unoptimized at first: V8 tiers it up over the first
 * thousands of messages (3-host durable throughput climbed 2.4× over the
 * first ~9,000, then held), so a figure taken before measures the JIT.
 */
async function warmUp(client: KeepAliveClient, ids: readonly string[], count: number, inFlight = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        const res = await client.send("POST", `/v1/agents/${ids[i % ids.length]}/messages`, { content: `warm up ${i}` });
        if (res.status !== 200) throw new Error(`warm-up message failed: ${res.status} ${res.text}`);
      }
    }),
  );
}

/**
 * Warms up the path of a message sent through the host at `entryUrl` to an
 * agent on the host at `ownerUrl` (by default the same one; across hosts, a
 * prefer-local cluster: an agent first messaged through a host lives
 * there): 10 agents placed on the owner, then `count` messages through the
 * entry, 16 at a time.
 */
export async function warmUpThrough(entryUrl: string, count: number, ownerUrl = entryUrl): Promise<void> {
  const ids = Array.from({ length: 10 }, (_, i) => `assistant/warm${i}`);
  for (const id of ids) {
    await http(entryUrl, "POST", "/v1/agents", { type: "assistant", key: id.split("/")[1] });
    await http(ownerUrl, "POST", `/v1/agents/${id}/messages`, { content: "placed here" });
  }
  const client = new KeepAliveClient(entryUrl, 16);
  try {
    await warmUp(client, ids, count);
  } finally {
    client.close();
  }
}
