import type { KeepAliveClient } from "./http-client.ts";

/**
 * Sends `count` messages, `inFlight` at a time, round-robin over the agents
 * `ids` (`type/key`), through `client`. New host processes run Colony's
 * message path unoptimized at first: V8 tiers it up over the first
 * thousands of messages (3-host durable throughput climbed 2.4× over the
 * first ~9,000, then held), so a figure taken before measures the JIT.
 */
export async function warmUp(client: KeepAliveClient, ids: readonly string[], count: number, inFlight = 16): Promise<void> {
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
