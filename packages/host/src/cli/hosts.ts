import type { Command } from "commander";
import type { HostsReply } from "@colony/directory";
import { action, table } from "./run.ts";

export function renderHosts(reply: HostsReply, now = Date.now()): string {
  const rows = reply.hosts.map((h) => [h.id, h.address, h.status, String(h.agents), String(h.load), `${((now - h.lastHeartbeat) / 1000).toFixed(1)}s ago`]);
  return table(["ID", "ADDRESS", "STATUS", "AGENTS", "LOAD", "LAST HEARTBEAT"], rows);
}

/** `colony hosts`: the cluster's membership, as a table or JSON; errors and exit codes as every other command. */
export const runHosts = action("hosts", async (client, out, opts: { json?: boolean }) => {
  // The reply's schema loads zod: imported by this command alone, not by every CLI call.
  const { hostsReplySchema } = await import("@colony/directory/protocol");
  const reply = hostsReplySchema.parse(await client.hosts());
  if (opts.json) out.json(reply);
  else out.print(renderHosts(reply));
});

/** Adds `colony hosts`. */
export function registerHostsCommand(program: Command): Command {
  return program
    .command("hosts")
    .description("List the cluster's hosts (id, address, status, agents, load, last heartbeat) from the admin API at COLONY_URL (default http://127.0.0.1:8080), with COLONY_ADMIN_TOKEN if set.")
    .option("--json", "print JSON instead of a table")
    .action(runHosts);
}
