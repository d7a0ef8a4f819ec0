import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { Option } from "commander";
import type { HttpToolDeclaration } from "../tools/http-tool-declaration.ts";
import { ENV_AND_EXIT_HELP, UsageError, action, table, usageExitCodes } from "./run.ts";

const route = (name: string) => `/v1/tools/${encodeURIComponent(name)}`;

/** `colony tools …`: HTTP tools declared through the API (GET/PUT/DELETE /v1/tools). */
export function registerToolsCommands(program: Command): Command {
  const tools = usageExitCodes(
    program
      .command("tools")
      .description("List, show, declare and delete HTTP tools (admin API at COLONY_URL). Every host offers a declared tool at once; agents list it by name in config.tools.")
      .addHelpText("after", ENV_AND_EXIT_HELP),
  );
  const sub = (name: string, description: string) => tools.command(name).description(description).addHelpText("after", ENV_AND_EXIT_HELP);
  const json = () => new Option("--json", "print the API's JSON answer instead of text");

  sub("ls", "List the declared tools: NAME, METHOD, URL, PERMISSION.")
    .addOption(json())
    .action(
      action("tools ls", async (client, out, o: { json?: boolean }) => {
        const reply = await client.request<{ tools: HttpToolDeclaration[] }>("GET", "/v1/tools");
        if (o.json) return out.json(reply);
        out.print(table(["NAME", "METHOD", "URL", "PERMISSION"], reply.tools.map((t) => [t.name, t.http.method, t.http.url, t.permission])));
      }),
    );

  sub("get", "Show one declared tool as JSON (secrets appear as their {{secret:NAME}} references).")
    .argument("<name>", "the tool name")
    .action(
      action("tools get", async (client, out, name: string) => {
        out.json(await client.request<HttpToolDeclaration>("GET", route(name)));
      }),
    );

  sub("put", "Declare an HTTP tool, or replace one: `colony tools put weather --file weather.json` (the body of PUT /v1/tools/{name}).")
    .argument("<name>", "the tool name (what agents list in config.tools)")
    .requiredOption("-f, --file <path>", "the declaration as JSON: description, inputSchema, http, permission?, rateLimit? (- reads stdin)")
    .addOption(json())
    .action(
      action("tools put", async (client, out, name: string, o: { file: string; json?: boolean }) => {
        const decl = await client.request<HttpToolDeclaration>("PUT", route(name), readDeclaration(o.file));
        if (o.json) return out.json(decl);
        out.print(`declared tool ${decl.name}: ${decl.http.method} ${decl.http.url} (${decl.permission})`);
      }),
    );

  sub("delete", "Delete a declared tool; agents that list it no longer get it.")
    .argument("<name>", "the tool name")
    .action(
      action("tools delete", async (client, out, name: string) => {
        await client.request("DELETE", route(name));
        out.print(`deleted tool ${name}`);
      }),
    );
  return tools;
}

function readDeclaration(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new UsageError(`--file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--file ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new UsageError(`--file ${file} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}
