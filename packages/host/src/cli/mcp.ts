import type { Command } from "commander";
import { Option } from "commander";
import type { McpServerView } from "../admin/mcp-routes.ts";
import { parseConfig } from "./agents-args.ts";
import { ENV_AND_EXIT_HELP, UsageError, action, table, usageExitCodes } from "./run.ts";

const route = (server: string) => `/v1/mcp/${encodeURIComponent(server)}`;
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `colony mcp …`: MCP servers whose tools every host offers as `<server>__<tool>` (/v1/mcp). */
export function registerMcpCommands(program: Command): Command {
  const mcp = usageExitCodes(
    program
      .command("mcp")
      .description("List, show, declare and remove MCP servers (admin API at COLONY_URL); agents list their tools as <server>__<tool>.")
      .addHelpText("after", ENV_AND_EXIT_HELP),
  );
  const sub = (name: string, description: string) => mcp.command(name).description(description).addHelpText("after", ENV_AND_EXIT_HELP);
  const json = () => new Option("--json", "print the API's JSON answer instead of text");

  sub("ls", "List the declared servers and their state on the host answering: NAME, TRANSPORT, CONNECTED, TOOLS, LAST ERROR.")
    .addOption(json())
    .action(
      action("mcp ls", async (client, out, o: { json?: boolean }) => {
        const reply = await client.request<{ servers: McpServerView[] }>("GET", "/v1/mcp");
        if (o.json) return out.json(reply);
        out.print(
          table(
            ["NAME", "TRANSPORT", "CONNECTED", "TOOLS", "LAST ERROR"],
            reply.servers.map((s) => [s.name, "url" in s.declaration ? "http" : "stdio", s.status?.connected ? "yes" : "no", String(s.tools.length), s.status?.lastError ?? "-"]),
          ),
        );
      }),
    );

  sub("get", "Show one server: its declaration (secret references unresolved), its tools and its state on the host answering.")
    .argument("<server>", "the server's name")
    .addOption(json())
    .action(
      action("mcp get", async (client, out, server: string, o: { json?: boolean }) => {
        const view = await client.request<McpServerView>("GET", route(server));
        if (o.json) return out.json(view);
        out.print(render(view));
      }),
    );

  registerPut(sub("put", PUT_HELP), json);

  sub("delete", "Remove a server: its tools disappear from every host.")
    .argument("<server>", "the server's name")
    .action(
      action("mcp delete", async (client, out, server: string) => {
        await client.request("DELETE", route(server));
        out.print(`removed MCP server ${server}`);
      }),
    );
  return mcp;
}

const PUT_HELP =
  "Declare (or replace) a server, seen by every host: `colony mcp put calc --url http://calc:3000/mcp --header 'Authorization: Bearer {{secret:CALC_TOKEN}}'`; stdio (`--command`) only where hosts set COLONY_MCP_ALLOW_STDIO=1.";

/** `colony mcp put <server>`: flags for the common cases, --declaration for the whole JSON. */
function registerPut(command: Command, json: () => Option): void {
  command
    .argument("<server>", "the server's name (^[a-z][a-z0-9-]{0,30}$)")
    .option("--url <url>", "the server's Streamable HTTP endpoint")
    .option("--header <header>", "'Name: value' sent on every request (repeatable); values may hold {{secret:NAME}}", collect)
    .option("--command <command>", "a stdio server's executable")
    .option("--arg <arg>", "an argument of the stdio command (repeatable)", collect)
    .option("--permission <tier>", "default tier of its tools: auto, approval or deny")
    .option("-d, --declaration <json>", "the whole declaration as JSON (as PUT /v1/mcp/{server} takes it); @file reads it from a file")
    .addOption(json())
    .action(
      action(
        "mcp put",
        async (client, out, server: string, o: { url?: string; header?: string[]; command?: string; arg?: string[]; permission?: string; declaration?: string; json?: boolean }) => {
          const body = declarationFrom(o);
          const view = await client.request<McpServerView>("PUT", route(server), body);
          if (o.json) return out.json(view);
          out.print(`declared MCP server ${view.name}`);
          out.print(render(view));
        },
      ),
    );
}

/** The body of PUT /v1/mcp/{server} from `mcp put`'s options: --declaration, then each flag over it. */
function declarationFrom(o: { url?: string; header?: string[]; command?: string; arg?: string[]; permission?: string; declaration?: string }): Record<string, unknown> {
  const body: Record<string, unknown> = o.declaration !== undefined ? parseConfig(o.declaration) : {};
  if (o.url !== undefined) body.url = o.url;
  if (o.command !== undefined) body.command = o.command;
  if (o.arg) body.args = o.arg;
  if (o.permission !== undefined) body.permission = o.permission;
  if (o.header) {
    body.headers = Object.fromEntries(
      o.header.map((h) => {
        const i = h.indexOf(":");
        if (i <= 0) throw new UsageError(`--header ${JSON.stringify(h)}: expected 'Name: value'`);
        return [h.slice(0, i).trim(), h.slice(i + 1).trim()];
      }),
    );
  }
  if (body.url === undefined && body.command === undefined) throw new UsageError("give --url (Streamable HTTP) or --command (stdio), or --declaration");
  return body;
}

function render(s: McpServerView): string {
  const d = s.declaration as Record<string, unknown>;
  const rows: [string, string][] = [
    ["name", s.name],
    ["transport", "url" in d ? `http ${String(d.url)}` : `stdio ${String(d.command)} ${((d.args as string[]) ?? []).join(" ")}`.trim()],
    ["permission", String(d.permission)],
    ["connected", s.status?.connected ? "yes" : "no"],
    ["last error", s.status?.lastError ?? "-"],
    ["tools", s.tools.join(", ") || "-"],
    ["updated", s.updatedAt],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join("\n");
}
