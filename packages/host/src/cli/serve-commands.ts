import type { Command } from "commander";
import { envHelp } from "../env-settings.ts";

/**
 * `colony dev`, `colony host`, `colony directory`: the commands that serve.
 * Their help lists the environment (env-settings.ts, which loads zod), and
 * the server stack itself loads only when one of them runs.
 */
export function registerServeCommands(program: Command): void {
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
}
