import type { Command } from "commander";
import { AGENT_KEY_PATTERN, AGENT_TYPE_PATTERN } from "@colony/actors/ids";
import { ConfigError, loadClientConfig } from "../client-config.ts";
import { ApiError, ColonyClient, ConnectionError } from "./client.ts";
import type { AgentRef } from "./client.ts";

/**
 * What every command that talks to the admin API shares: exit codes, the
 * action wrapper that maps typed errors to them, id parsing and help text.
 * New commands (e.g. `agents trace`, `send --follow`) should use `action()`.
 */

export const EXIT = {
  /** Done. */
  ok: 0,
  /** The API answered an error (4xx/5xx; its code and message are printed), or the turn failed. */
  api: 1,
  /** Usage error (bad arguments, bad COLONY_URL) or the host could not be reached. */
  usage: 2,
} as const;

export const ENV_AND_EXIT_HELP = `
Environment:
  COLONY_URL          the admin API of any host (default http://127.0.0.1:8080)
  COLONY_ADMIN_TOKEN  bearer token, when the hosts require one

Exit codes:
  0  ok
  1  the API answered an error (4xx/5xx): its code and message are printed
     on stderr (e.g. "not_found: agent assistant/x does not exist");
     for send, also a turn that ended with status "failed"
  2  usage error, or the host at COLONY_URL could not be reached`;

/** Bad arguments found by a command itself (commander's own errors exit 2 too). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Exits 2 for commander's usage errors, 0 for --help. Apply to a command before adding its subcommands. */
export function usageExitCodes(cmd: Command): Command {
  return cmd.exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage));
}

export interface Out {
  /** Prints a line (or lines) on stdout. */
  print(text: string): void;
  /** Prints JSON on stdout, pretty. */
  json(value: unknown): void;
  /** Prints a note on stderr (hints that scripts should not parse). */
  note(text: string): void;
}

const out: Out = {
  print: (text) => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  json: (value) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  note: (text) => void process.stderr.write(`${text}\n`),
};

/**
 * Wraps a command's action: builds the client from the environment, runs
 * `fn`, and turns what it throws into a message on stderr and an exit code.
 * `fn` may return an exit code (e.g. 1 for a failed turn).
 */
export function action<A extends unknown[]>(name: string, fn: (client: ColonyClient, out: Out, ...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    let code: number;
    try {
      const client = new ColonyClient(loadClientConfig());
      code = (await fn(client, out, ...args)) ?? EXIT.ok;
    } catch (e) {
      code = report(name, e);
    }
    await flush();
    process.exit(code);
  };
}

function report(name: string, e: unknown): number {
  const prefix = `colony ${name}:`;
  if (e instanceof ApiError) {
    const field = typeof e.details?.field === "string" ? ` (field: ${e.details.field})` : "";
    out.note(`${prefix} ${e.code}: ${e.message}${field} [HTTP ${e.status}]`);
    return EXIT.api;
  }
  if (e instanceof ConnectionError || e instanceof UsageError || e instanceof ConfigError) {
    out.note(`${prefix} ${e.message}`);
    return EXIT.usage;
  }
  out.note(`${prefix} unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return EXIT.api;
}

/** Lets stdout and stderr drain before process.exit (pipes are asynchronous). */
function flush(): Promise<void> {
  const drained = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => (s.writableNeedDrain ? s.once("drain", () => resolve()) : resolve()));
  return Promise.all([drained(process.stdout), drained(process.stderr)]).then(() => undefined);
}

const TYPE = AGENT_TYPE_PATTERN;
const KEY = AGENT_KEY_PATTERN;

/** `type/key`, checked before anything is sent (the same grammar as the API's). */
export function parseAgentRef(value: string): AgentRef {
  const slash = value.indexOf("/");
  const type = slash < 0 ? "" : value.slice(0, slash);
  const key = slash < 0 ? "" : value.slice(slash + 1);
  if (!TYPE.test(type) || !KEY.test(key)) {
    throw new UsageError(`"${value}" is not an agent id: expected <type>/<key>, type matching ${TYPE.source} and key matching ${KEY.source} (e.g. assistant/alice)`);
  }
  return { type, key };
}

export function checkType(type: string): string {
  if (!TYPE.test(type)) throw new UsageError(`--type "${type}" must match ${TYPE.source}`);
  return type;
}

/** Renders rows as an aligned plain-text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Shortens text for a table cell. */
export function clip(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "3.2s ago" / "in 59m" for an epoch-ms timestamp. */
export function relative(at: number, now = Date.now()): string {
  const d = Math.abs(now - at) / 1000;
  const span = d < 60 ? `${d.toFixed(d < 10 ? 1 : 0)}s` : d < 3600 ? `${Math.round(d / 60)}m` : d < 86_400 ? `${(d / 3600).toFixed(1)}h` : `${(d / 86_400).toFixed(1)}d`;
  return at <= now ? `${span} ago` : `in ${span}`;
}
