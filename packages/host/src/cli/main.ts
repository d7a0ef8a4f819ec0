import { Command } from "commander";
import { registerAgentsCommands } from "./agents.ts";
import { runHosts } from "./hosts.ts";
import { registerTypesCommands } from "./types.ts";
import { envHelp } from "../config.ts";
import { registerToolsCommands } from "./tools.ts";
import { registerMcpCommands } from "./mcp.ts";

// The server stack loads only for the commands that serve, so CLI calls start fast.
const program = new Command()
  .name("colony")
  .description("Colony: a virtual-actor cluster for AI agents.")
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode));

program
  .command("dev")
  .description("The embedded default: one host with an in-memory store on 127.0.0.1:8080 (COLONY_HTTP_PORT overrides); the offline scripted model unless ANTHROPIC_API_KEY is set.")
  .addHelpText("after", envHelp("dev"))
  .action(async () => (await import("./serve.ts")).runDev());

program
  .command("host")
  .description("One host of a cluster: runs agents, serves the admin API for any agent (NATS_URL and REDIS_URL required).")
  .addHelpText("after", envHelp("host"))
  .action(async () => (await import("./serve.ts")).runHost());

program
  .command("directory")
  .description("A directory replica: membership from heartbeats, placement, failover; its HTTP port serves probes and /metrics (NATS_URL and REDIS_URL required).")
  .addHelpText("after", envHelp("directory"))
  .action(async () => (await import("./serve.ts")).runDirectory());

program
  .command("hosts")
  .description("List the cluster's hosts (id, address, status, agents, load, last heartbeat) from the admin API at COLONY_URL (default http://127.0.0.1:8080), with COLONY_ADMIN_TOKEN if set.")
  .option("--json", "print JSON instead of a table")
  .action(runHosts);

registerAgentsCommands(program);
registerTypesCommands(program);
registerToolsCommands(program);
registerMcpCommands(program);

await program.parseAsync(process.argv);
