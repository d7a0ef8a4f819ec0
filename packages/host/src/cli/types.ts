import type { Command } from "commander";
import { Option } from "commander";
import type { AgentTypeView } from "../agent-types.ts";
import { parseConfig } from "./agents-args.ts";
import { ENV_AND_EXIT_HELP, UsageError, action, table, usageExitCodes } from "./run.ts";

/** `colony types …`: agent types and the defaults operators give them (GET/PUT /v1/types). */
export function registerTypesCommands(program: Command): Command {
  const types = usageExitCodes(
    program
      .command("types")
      .description("List, show and define agent types' defaults (admin API at COLONY_URL). Any valid type name can be spawned; defaults make it useful.")
      .addHelpText("after", ENV_AND_EXIT_HELP),
  );
  const sub = (name: string, description: string) => types.command(name).description(description).addHelpText("after", ENV_AND_EXIT_HELP);
  const json = () => new Option("--json", "print the API's JSON answer instead of text");

  sub("ls", "List the types with defaults: TYPE, SOURCE (code, api, code+api), MODEL, TOOLS.")
    .addOption(json())
    .action(
      action("types ls", async (client, out, o: { json?: boolean }) => {
        const reply = await client.types();
        if (o.json) return out.json(reply);
        out.print(table(["TYPE", "SOURCE", "MODEL", "TOOLS"], reply.types.map((t) => [t.type, t.source, t.resolved.model, t.resolved.tools.join(",") || "-"])));
      }),
    );

  sub("get", "Show one type: its source, the stored defaults and what a spawn without a config gets.")
    .argument("<type>", "the type name")
    .addOption(json())
    .action(
      action("types get", async (client, out, type: string, o: { json?: boolean }) => {
        const view = await client.type(type);
        if (o.json) return out.json(view);
        out.print(renderType(view));
      }),
    );

  sub("put", "Store a type's defaults (replacing earlier ones), seen by every host: `colony types put researcher --config '{\"systemPrompt\":\"You research.\"}'`.")
    .argument("<type>", "the type name")
    .requiredOption("-c, --config <json>", "the defaults as JSON (any field of a spawn config); @file reads it from a file")
    .addOption(json())
    .action(
      action("types put", async (client, out, type: string, o: { config: string; json?: boolean }) => {
        if (o.config === "") throw new UsageError("--config is empty");
        const view = await client.putType(type, parseConfig(o.config));
        if (o.json) return out.json(view);
        out.print(`stored defaults of type ${view.type}`);
        out.print(renderType(view));
      }),
    );
  return types;
}

function renderType(t: AgentTypeView): string {
  const rows: [string, string][] = [
    ["type", t.type],
    ["source", t.source],
    ["description", t.description || "-"],
    ["model", t.resolved.model],
    ["tools", t.resolved.tools.join(", ") || "-"],
    ["system prompt", t.resolved.systemPrompt || "-"],
    ["defaults", JSON.stringify(t.config)],
    ["updated", t.updatedAt ?? "-"],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join("\n");
}
