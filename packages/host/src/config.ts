import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { randomToken } from "@colony/actors/ids";
import { brokenTimingRule } from "@colony/directory/settings";
import { ConfigError, describeValue } from "./client-config.ts";
import { DEFAULTS, ENV_NAMES, envHelp, envSchema } from "./env-settings.ts";

export { DEFAULTS, ENV_NAMES, envHelp };
export { ConfigError, describeValue, loadClientConfig } from "./client-config.ts";
export type { ClientConfig } from "./client-config.ts";

/** The environment variable of each failure-detection timing, for error messages. */
const TIMING_ENV = { heartbeatMs: "COLONY_HEARTBEAT_MS", suspectAfterMs: "COLONY_SUSPECT_AFTER_MS", failureTimeoutMs: "COLONY_FAILURE_TIMEOUT_MS" } as const;

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
  /** When set, the store acknowledges a write only once this many Redis replicas confirmed it (WAIT). */
  redisWait?: { replicas: number; timeoutMs: number };
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
  /** Where `{{secret:NAME}}` finds NAME as a file when COLONY_SECRET_NAME is unset. */
  secretsDir?: string;
  /** Whether this host may start stdio MCP servers, i.e. run processes an API caller names (COLONY_MCP_ALLOW_STDIO=1). */
  mcpAllowStdio?: boolean;
  /** OpenTelemetry trace export (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set); absent: off. */
  otel?: OtelConfig;
}

/** Where and how spans are exported over OTLP/HTTP. */
export interface OtelConfig {
  /** The full traces URL (…/v1/traces). */
  tracesUrl: string;
  /** Raw OTEL_EXPORTER_OTLP_HEADERS (a secret: never logged). */
  headers?: string;
  serviceName: string;
  scheduleDelayMs: number;
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
  const broken = brokenTimingRule(config, (f) => TIMING_ENV[f]);
  if (broken) throw new ConfigError(`invalid environment: ${TIMING_ENV[broken.field]}=${config[broken.field]} ${broken.message}`);
  if (e.COLONY_MCP_ALLOW_STDIO === "1" || e.COLONY_MCP_ALLOW_STDIO === "true") config.mcpAllowStdio = true;
  if (e.COLONY_ADVERTISE_URL) config.advertiseUrl = e.COLONY_ADVERTISE_URL;
  if (e.COLONY_ADMIN_TOKEN) config.adminToken = e.COLONY_ADMIN_TOKEN;
  if (e.REDIS_URL) config.redisUrl = e.REDIS_URL;
  if (e.COLONY_REDIS_WAIT_REPLICAS > 0) config.redisWait = { replicas: e.COLONY_REDIS_WAIT_REPLICAS, timeoutMs: e.COLONY_REDIS_WAIT_TIMEOUT_MS };
  if (e.NATS_URL) config.natsUrl = e.NATS_URL;
  if (e.ANTHROPIC_API_KEY) config.anthropicApiKey = e.ANTHROPIC_API_KEY;
  if (e.ANTHROPIC_BASE_URL) config.anthropicBaseUrl = e.ANTHROPIC_BASE_URL;
  if (e.COLONY_SECRETS_DIR) config.secretsDir = e.COLONY_SECRETS_DIR;
  const tracesUrl = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces` : undefined);
  if (tracesUrl && e.OTEL_SDK_DISABLED !== "true") {
    config.otel = {
      tracesUrl,
      serviceName: e.OTEL_SERVICE_NAME ?? "colony",
      scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
      ...(e.OTEL_EXPORTER_OTLP_HEADERS ? { headers: e.OTEL_EXPORTER_OTLP_HEADERS } : {}),
    };
  }
  return config;
}

/** Secret names as `{{secret:NAME}}` takes them; anything else is never looked up. */
const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * The values behind `{{secret:NAME}}` in declared HTTP tools: the variable
 * COLONY_SECRET_<NAME>, else the file <COLONY_SECRETS_DIR>/<NAME> (trailing
 * newline dropped). Read at every call, so a rotated file is picked up;
 * never cached, stored or logged.
 */
export function secretResolver(config: Pick<HostConfig, "secretsDir">, env: NodeJS.ProcessEnv = process.env): (name: string) => string | undefined {
  return (name) => {
    if (!SECRET_NAME.test(name)) return undefined;
    const fromEnv = env[`COLONY_SECRET_${name}`];
    if (fromEnv) return fromEnv;
    if (!config.secretsDir) return undefined;
    try {
      return readFileSync(join(config.secretsDir, name), "utf8").replace(/\r?\n$/, "") || undefined;
    } catch {
      return undefined;
    }
  };
}
