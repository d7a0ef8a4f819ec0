import { Command } from "commander";
import { runDev, runHost } from "./serve.ts";

const program = new Command()
  .name("colony")
  .description("Colony: a virtual-actor cluster for AI agents.")
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode));

program
  .command("dev")
  .description("The embedded default: one host with an in-memory store on 127.0.0.1:8080 (COLONY_HTTP_PORT overrides); the offline scripted model unless ANTHROPIC_API_KEY is set.")
  .action(runDev);

program
  .command("host")
  .description("A host node persisting agents in Redis (REDIS_URL). Configured by env: COLONY_HOST_ID, COLONY_HTTP_HOST, COLONY_HTTP_PORT, COLONY_ADMIN_TOKEN, COLONY_IDLE_MS, COLONY_DRAIN_MS, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, LOG_LEVEL.")
  .action(runHost);

await program.parseAsync(process.argv);
