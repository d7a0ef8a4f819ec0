import { hostname } from "node:os";
import { z } from "zod";
import { MAX_IDLE_MS } from "@colony/actors/agent-config";
import { randomToken, TOKEN_PATTERN } from "@colony/actors/ids";
import { redactUrls } from "@colony/actors/redact";

/** Defaults of every setting, documented in the README's config table. */
export const DEFAULTS = {
  httpHost: "127.0.0.1",
  httpPort: 8080,
  idleMs: 5 * 60_000,
  drainMs: 30_000,
  waitTimeoutMs: 120_000,
  logLevel: "info",
  heartbeatMs: 250,
  /** Why 2 s: see DEFAULT_FAILURE_TIMEOUT_MS in @colony/directory (a crash is confirmed by a probe far sooner). */
  failureTimeoutMs: 2_000,
  placement: "least-loaded",
  /** How long `colony host`/`directory` wait for NATS and Redis at start before exiting 2 naming the variable. */
  connectTimeoutMs: 10_000,
} as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** True if `value` parses as a URL whose scheme is one of `schemes` (with the colon, e.g. "redis:"). */
const urlWithScheme = (value: string, schemes: readonly string[]) => {
  try {
    return schemes.includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

const REDIS_SCHEMES = ["redis:", "rediss:"] as const;
const NATS_SCHEMES = ["nats:", "tls:"] as const;

/** Values never echoed in an error: only their length is. */
const SECRETS: ReadonlySet<string> = new Set(["COLONY_ADMIN_TOKEN", "ANTHROPIC_API_KEY"]);

/** How a variable's value may appear in an error: secrets by length, URLs without their password. */
export function describeValue(name: string, value: string | undefined): string {
  if (value === undefined) return '""';
  if (SECRETS.has(name)) return `(${value.length} characters, not shown)`;
  return JSON.stringify(redactUrls(value));
}

const envSchema = z.object({
  COLONY_HTTP_HOST: z.string().min(1).default(DEFAULTS.httpHost),
  COLONY_HTTP_PORT: int(0, 65535).default(DEFAULTS.httpPort),
  COLONY_HOST_ID: z.string().regex(TOKEN_PATTERN, "must match ^[A-Za-z0-9_-]{1,128}$").optional(),
  COLONY_IDLE_MS: int(1, MAX_IDLE_MS).default(DEFAULTS.idleMs),
  COLONY_DRAIN_MS: int(0, 10 * 60_000).default(DEFAULTS.drainMs),
  COLONY_WAIT_TIMEOUT_MS: int(1, 60 * 60_000).default(DEFAULTS.waitTimeoutMs),
  COLONY_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  REDIS_URL: z
    .string()
    .refine((v) => urlWithScheme(v, REDIS_SCHEMES), "must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379")
    .optional(),
  NATS_URL: z
    .string()
    .refine((v) => v.split(",").every((u) => urlWithScheme(u.trim(), NATS_SCHEMES)), "must be nats:// or tls:// URLs (comma-separated for a cluster), e.g. nats://127.0.0.1:4222")
    .optional(),
  COLONY_CONNECT_TIMEOUT_MS: int(100, 10 * 60_000).default(DEFAULTS.connectTimeoutMs),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  COLONY_HEARTBEAT_MS: int(10, 60_000).default(DEFAULTS.heartbeatMs),
  COLONY_FAILURE_TIMEOUT_MS: int(20, 10 * 60_000).default(DEFAULTS.failureTimeoutMs),
  COLONY_SUSPECT_AFTER_MS: int(10, 10 * 60_000).optional(),
  /** Test only: SIGUSR2 busy-loops the event loop this long (a GC pause, a big parse). Unset: no handler. */
  COLONY_TEST_BLOCK_ON_SIGUSR2_MS: int(1, 60_000).optional(),
  COLONY_PLACEMENT: z.enum(["least-loaded", "random", "prefer-local", "consistent-hash"]).default(DEFAULTS.placement),
  COLONY_ADVERTISE_URL: z.string().url().optional(),
  COLONY_STALL_FENCE: z.enum(["true", "false"]).default("true"),
  COLONY_MODEL_CONCURRENCY: int(1, 10_000).default(8),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default(DEFAULTS.logLevel),
});

/** A process's settings, parsed once from the environment. */
export interface HostConfig {
  httpHost: string;
  httpPort: number;
  hostId: string;
  idleMs: number;
  drainMs: number;
  waitTimeoutMs: number;
  adminToken?: string;
  redisUrl?: string;
  natsUrl?: string;
  anthropicApiKey?: string;
  anthropicBaseUrl?: string;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  /** How often hosts publish heartbeats. */
  heartbeatMs: number;
  /**
   * Silence after which the directory declares a host dead although its
   * connection lives (a freeze, a partition): the grace of a suspected host.
   * A host whose connection is gone (a crash) is dead as soon as a probe says so.
   */
  failureTimeoutMs: number;
  /** Silence after which the directory suspects a host and probes it; default two heartbeats. */
  suspectAfterMs?: number;
  /** Test only (COLONY_TEST_BLOCK_ON_SIGUSR2_MS): SIGUSR2 blocks the event loop this long. */
  testBlockOnSignalMs?: number;
  placement: z.infer<typeof envSchema>["COLONY_PLACEMENT"];
  /** The admin URL other processes and operators should use for this host. */
  advertiseUrl?: string;
  /** How long to wait for NATS and Redis at start (COLONY_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** Model calls in flight at once on this host, across all its agents. */
  modelConcurrency: number;
  /** Drop every activation when the process was frozen past the failure timeout (the epoch fence is the backstop). */
  stallFence: boolean;
}

/** Thrown for a bad environment; its message names the variable and the value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * The only place that reads `process.env`. Empty strings count as unset, so
 * `FOO= colony dev` behaves like leaving FOO out.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HostConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `${name}=${describeValue(name, cleaned[name])}: ${i.message}`;
    });
    throw new ConfigError(`invalid environment: ${lines.join("; ")}`);
  }
  const e = parsed.data;
  const config: HostConfig = {
    httpHost: e.COLONY_HTTP_HOST,
    httpPort: e.COLONY_HTTP_PORT,
    hostId: e.COLONY_HOST_ID ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 100)}-${randomToken(6)}`,
    idleMs: e.COLONY_IDLE_MS,
    drainMs: e.COLONY_DRAIN_MS,
    waitTimeoutMs: e.COLONY_WAIT_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    heartbeatMs: e.COLONY_HEARTBEAT_MS,
    failureTimeoutMs: e.COLONY_FAILURE_TIMEOUT_MS,
    placement: e.COLONY_PLACEMENT,
    stallFence: e.COLONY_STALL_FENCE === "true",
    modelConcurrency: e.COLONY_MODEL_CONCURRENCY,
    connectTimeoutMs: e.COLONY_CONNECT_TIMEOUT_MS,
    ...(e.COLONY_SUSPECT_AFTER_MS !== undefined ? { suspectAfterMs: e.COLONY_SUSPECT_AFTER_MS } : {}),
    ...(e.COLONY_TEST_BLOCK_ON_SIGUSR2_MS !== undefined ? { testBlockOnSignalMs: e.COLONY_TEST_BLOCK_ON_SIGUSR2_MS } : {}),
  };
  if (config.failureTimeoutMs < 2 * config.heartbeatMs) {
    throw new ConfigError(
      `invalid environment: COLONY_FAILURE_TIMEOUT_MS=${config.failureTimeoutMs} must be at least twice COLONY_HEARTBEAT_MS=${config.heartbeatMs}`,
    );
  }
  if (config.suspectAfterMs !== undefined && config.suspectAfterMs > config.failureTimeoutMs) {
    throw new ConfigError(
      `invalid environment: COLONY_SUSPECT_AFTER_MS=${config.suspectAfterMs} must be at most COLONY_FAILURE_TIMEOUT_MS=${config.failureTimeoutMs}`,
    );
  }
  if (e.COLONY_ADVERTISE_URL) config.advertiseUrl = e.COLONY_ADVERTISE_URL;
  if (e.COLONY_ADMIN_TOKEN) config.adminToken = e.COLONY_ADMIN_TOKEN;
  if (e.REDIS_URL) config.redisUrl = e.REDIS_URL;
  if (e.NATS_URL) config.natsUrl = e.NATS_URL;
  if (e.ANTHROPIC_API_KEY) config.anthropicApiKey = e.ANTHROPIC_API_KEY;
  if (e.ANTHROPIC_BASE_URL) config.anthropicBaseUrl = e.ANTHROPIC_BASE_URL;
  return config;
}

const clientEnvSchema = z.object({
  COLONY_URL: z.string().url().default("http://127.0.0.1:8080"),
  COLONY_ADMIN_TOKEN: z.string().optional(),
});

/** Settings of the CLI commands that talk to a host's admin API. */
export interface ClientConfig {
  url: string;
  token?: string;
}

export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = clientEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const name = String(i.path[0]);
    throw new ConfigError(`invalid environment: ${name}=${describeValue(name, cleaned[name])}: ${i.message}`);
  }
  return { url: parsed.data.COLONY_URL.replace(/\/$/, ""), ...(parsed.data.COLONY_ADMIN_TOKEN ? { token: parsed.data.COLONY_ADMIN_TOKEN } : {}) };
}
