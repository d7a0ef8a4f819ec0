import { redactUrls } from "@colony/actors/redact";

/**
 * The CLI's settings (COLONY_URL, COLONY_ADMIN_TOKEN) and the error type of a
 * bad environment. Kept apart from config.ts, and checked without zod, so a
 * client command (`colony agents ls`) loads neither zod nor the server's
 * settings: importing zod costs about as much CPU as the whole rest of a CLI
 * call, and a CLI call must answer within 300 ms.
 */

/** Thrown for a bad environment; its message names the variable and the value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Values never echoed in an error: only their length is. */
const SECRETS: ReadonlySet<string> = new Set(["COLONY_ADMIN_TOKEN", "ANTHROPIC_API_KEY", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"]);

/** How a variable's value may appear in an error: secrets by length, URLs without their password. */
export function describeValue(name: string, value: string | undefined): string {
  if (value === undefined) return '""';
  if (SECRETS.has(name)) return `(${value.length} characters, not shown)`;
  return JSON.stringify(redactUrls(value));
}

/** Settings of the CLI commands that talk to a host's admin API. */
export interface ClientConfig {
  url: string;
  token?: string;
}

/** The admin API the CLI talks to when COLONY_URL is unset. */
export const DEFAULT_COLONY_URL = "http://127.0.0.1:8080";

/**
 * The CLI's settings from the environment; empty strings count as unset.
 * COLONY_URL must parse as a URL (zod's `z.string().url()` rule, and its
 * message); a ConfigError names the variable otherwise.
 */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const url = env.COLONY_URL || DEFAULT_COLONY_URL;
  if (!URL.canParse(url.trim())) throw new ConfigError(`invalid environment: COLONY_URL=${describeValue("COLONY_URL", url)}: Invalid URL`);
  const token = env.COLONY_ADMIN_TOKEN;
  return { url: url.replace(/\/$/, ""), ...(token ? { token } : {}) };
}
