import { Command } from "commander";

/**
 * The `colony` CLI's entry. A call that names a client command group
 * (`colony agents ls`) loads that group's modules alone: no server code, no
 * zod, no other group, so it starts fast (a CLI call that talks to a
 * host must answer within 300 ms). Anything else (`colony --help`,
 * `colony dev`, a typo that wants "did you mean") builds the whole program.
 */

type Register = (program: Command) => unknown;

/** The commands that talk to a host's admin API, by their first word, in `colony --help` order. */
const CLIENT_GROUPS: Record<string, () => Promise<Register>> = {
  hosts: async () => (await import("./hosts.ts")).registerHostsCommand,
  agents: async () => (await import("./agents.ts")).registerAgentsCommands,
  types: async () => (await import("./types.ts")).registerTypesCommands,
  tools: async () => (await import("./tools.ts")).registerToolsCommands,
  mcp: async () => (await import("./mcp.ts")).registerMcpCommands,
};

const program = new Command()
  .name("colony")
  .description("Colony: a virtual-actor cluster for AI agents.")
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode));

const first = process.argv[2];
if (first !== undefined && Object.hasOwn(CLIENT_GROUPS, first)) {
  (await CLIENT_GROUPS[first]!())(program);
} else {
  (await import("./serve-commands.ts")).registerServeCommands(program);
  for (const load of Object.values(CLIENT_GROUPS)) (await load())(program);
}

await program.parseAsync(process.argv);
