import { http } from "../test/harness/colony-process.ts";
import type { KeepAliveClient } from "./http-client.ts";
import { timeUs } from "./stats.ts";

/** Where a cross-host message goes: in through the entry host, to agents (`<prefix>N`) living on the owner host. */
export interface CrossHostRoute {
  entryUrl: string;
  ownerUrl: string;
  ownerId: string;
  prefix: string;
}

/**
 * Times message `i` of a sequence sent through `client` (keep-alive to the
 * entry host) to an agent on the owner host, in a prefer-local cluster. A
 * fresh agent every 50 messages, created through the entry and placed on
 * the owner by its first message there (checked): snapshots grow with the
 * conversation, and fresh agents keep the figure about routing (contexts
 * of 0–100 messages, snapshots < 6 KB). Returns the send's time in µs.
 */
export async function timeCrossHostSend(client: KeepAliveClient, route: CrossHostRoute, i: number): Promise<number> {
  const key = `${route.prefix}${Math.floor(i / 50)}`;
  if (i % 50 === 0) {
    await http(route.entryUrl, "POST", "/v1/agents", { type: "assistant", key });
    await http(route.ownerUrl, "POST", `/v1/agents/assistant/${key}/messages`, { content: "placed on the owner" });
    const owner = (await http(route.entryUrl, "GET", `/v1/agents/assistant/${key}`)).body.host;
    if (owner !== route.ownerId) throw new Error(`bench agent landed on ${owner}, not ${route.ownerId}`);
  }
  return timeUs(async () => {
    const res = await client.send("POST", `/v1/agents/assistant/${key}/messages`, { content: `ping ${i}` });
    if (res.status !== 200) throw new Error(`bench message failed: ${res.status} ${res.text}`);
  });
}
