import { hostsReplySchema } from "@colony/directory/protocol";
import type { HostsReply } from "@colony/directory";
import { action, table } from "./run.ts";

export function renderHosts(reply: HostsReply, now = Date.now()): string {
  const rows = reply.hosts.map((h) => [h.id, h.address, h.status, String(h.agents), String(h.load), `${((now - h.lastHeartbeat) / 1000).toFixed(1)}s ago`]);
  return table(["ID", "ADDRESS", "STATUS", "AGENTS", "LOAD", "LAST HEARTBEAT"], rows);
}

/** `colony hosts`: the cluster's membership, as a table or JSON; errors and exit codes as every other command. */
export const runHosts = action("hosts", async (client, out, opts: { json?: boolean }) => {
  const reply = hostsReplySchema.parse(await client.hosts());
  if (opts.json) out.json(reply);
  else out.print(renderHosts(reply));
});
