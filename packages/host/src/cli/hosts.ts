import { hostsReplySchema } from "@colony/directory/protocol";
import type { HostsReply } from "@colony/directory";
import { loadClientConfig } from "../config.ts";

/** Renders rows as an aligned plain-text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function renderHosts(reply: HostsReply, now = Date.now()): string {
  const rows = reply.hosts.map((h) => [h.id, h.address, h.status, String(h.agents), String(h.load), `${((now - h.lastHeartbeat) / 1000).toFixed(1)}s ago`]);
  return table(["ID", "ADDRESS", "STATUS", "AGENTS", "LOAD", "LAST HEARTBEAT"], rows);
}

/** `colony hosts`: the cluster's membership, as a table or JSON. Exit 1 if the API answers with an error, 2 if it cannot be reached. */
export async function runHosts(opts: { json?: boolean }): Promise<void> {
  const config = loadClientConfig();
  let res: Response;
  try {
    res = await fetch(`${config.url}/v1/hosts`, { headers: config.token ? { authorization: `Bearer ${config.token}` } : {} });
  } catch (e) {
    process.stderr.write(`colony hosts: cannot reach ${config.url} (${e instanceof Error ? e.message : String(e)}); set COLONY_URL\n`);
    process.exit(2);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const message = (body as { error?: { message?: string } } | undefined)?.error?.message ?? res.statusText;
    process.stderr.write(`colony hosts: ${res.status} ${message}\n`);
    process.exit(1);
  }
  const reply = hostsReplySchema.parse(body);
  process.stdout.write(`${opts.json ? JSON.stringify(reply, null, 2) : renderHosts(reply)}\n`);
}
