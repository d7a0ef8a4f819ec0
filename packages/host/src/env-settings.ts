import { z } from "zod";
import { MAX_IDLE_MS } from "@colony/actors/agent-config";
import { TOKEN_PATTERN } from "@colony/actors/ids";
import { DEFAULT_FAILURE_TIMEOUT_MS, DEFAULT_HEARTBEAT_MS, DEFAULT_STRATEGY, STRATEGY_NAMES } from "@colony/directory/settings";
import { redisTargetSchema } from "@colony/actors/redis-url";

/** Defaults of every setting, documented in the README's config table. */
export const DEFAULTS = {
  httpHost: "127.0.0.1",
  httpPort: 8080,
  idleMs: 5 * 60_000,
  drainMs: 30_000,
  waitTimeoutMs: 120_000,
  logLevel: "info",
  heartbeatMs: DEFAULT_HEARTBEAT_MS,
  failureTimeoutMs: DEFAULT_FAILURE_TIMEOUT_MS,
  placement: DEFAULT_STRATEGY,
  /** How long `colony host`/`directory` wait for NATS and Redis at start before exiting 2 naming the variable. */
  connectTimeoutMs: 10_000,
  /** OTEL_BSP_SCHEDULE_DELAY's default in the OpenTelemetry spec. */
  otelScheduleDelayMs: 5_000,
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

const NATS_SCHEMES = ["nats:", "tls:"] as const;
const HTTP_SCHEMES = ["http:", "https:"] as const;
/** OTEL_EXPORTER_OTLP_HEADERS as the OpenTelemetry spec writes it: `k=v` pairs, comma-separated. */
const OTLP_HEADERS = /^\s*[^=,\s]+\s*=[^,]*(,\s*[^=,\s]+\s*=[^,]*)*$/;

/** The processes a variable applies to; `colony dev` reads the host's settings except the servers'. */
export type Process = "dev" | "host" | "directory";
const ALL: readonly Process[] = ["dev", "host", "directory"];
const SERVED: readonly Process[] = ["dev", "host"];
const CLUSTER: readonly Process[] = ["host", "directory"];

interface Setting {
  schema: z.ZodType;
  /** One line for `--help` (the README's config table says more). */
  help: string;
  /** The commands whose `--help` lists it; empty for test-only hooks. */
  for: readonly Process[];
}

/**
 * Every variable the processes read: the parser and `--help` are both made
 * from this one table, so neither can forget one.
 */
const SETTINGS = {
  NATS_URL: {
    schema: z
      .string()
      .refine((v) => v.split(",").every((u) => urlWithScheme(u.trim(), NATS_SCHEMES)), "must be nats:// or tls:// URLs (comma-separated for a cluster), e.g. nats://127.0.0.1:4222")
      .optional(),
    help: "the message bus (required): nats:// or tls:// URLs, comma-separated for a cluster",
    for: CLUSTER,
  },
  REDIS_URL: {
    schema: z
      .string()
      .superRefine((v, ctx) => {
        const parsed = redisTargetSchema.safeParse(v);
        if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
      })
      .optional(),
    help: "where agents and placements are kept (required): redis://, rediss://, redis+cluster://h1:p,h2:p (rediss+cluster:// for TLS) or redis+sentinel://h1:p,h2:p/?name=master",
    for: CLUSTER,
  },
  COLONY_REDIS_WAIT_REPLICAS: {
    schema: int(0, 16).default(0),
    help: "acknowledge a write only once this many Redis replicas have it (WAIT); default 0, the master's word",
    for: ["host"],
  },
  COLONY_REDIS_WAIT_TIMEOUT_MS: {
    schema: int(1, 60_000).default(1_000),
    help: "how long a write waits for COLONY_REDIS_WAIT_REPLICAS before answering 503 (default 1000)",
    for: ["host"],
  },
  COLONY_CONNECT_TIMEOUT_MS: {
    schema: int(100, 10 * 60_000).default(DEFAULTS.connectTimeoutMs),
    help: `how long to retry NATS and Redis at start before exiting 2 (default ${DEFAULTS.connectTimeoutMs})`,
    for: CLUSTER,
  },
  COLONY_HOST_ID: { schema: z.string().regex(TOKEN_PATTERN, "must match ^[A-Za-z0-9_-]{1,128}$").optional(), help: "this process's id (default: hostname + random suffix)", for: ALL },
  COLONY_HTTP_HOST: { schema: z.string().min(1).default(DEFAULTS.httpHost), help: `bind address (default ${DEFAULTS.httpHost}; others need COLONY_ADMIN_TOKEN)`, for: ALL },
  COLONY_HTTP_PORT: { schema: int(0, 65535).default(DEFAULTS.httpPort), help: `HTTP port (default ${DEFAULTS.httpPort}; 0 picks a free one)`, for: ALL },
  COLONY_ADVERTISE_URL: { schema: z.string().url().optional(), help: "the admin URL others should use for this host", for: ["host"] },
  COLONY_ADMIN_TOKEN: { schema: z.string().min(16, "must be at least 16 characters").optional(), help: "bearer token required on /v1/* (16+ characters)", for: ALL },
  COLONY_IDLE_MS: { schema: int(1, MAX_IDLE_MS).default(DEFAULTS.idleMs), help: `passivate an agent after this long idle (default ${DEFAULTS.idleMs})`, for: SERVED },
  COLONY_DRAIN_MS: { schema: int(0, 10 * 60_000).default(DEFAULTS.drainMs), help: `on SIGTERM, how long running turns may finish (default ${DEFAULTS.drainMs})`, for: SERVED },
  COLONY_WAIT_TIMEOUT_MS: {
    schema: int(1, 60 * 60_000).default(DEFAULTS.waitTimeoutMs),
    help: `how long a wait:true send waits before answering 202 (default ${DEFAULTS.waitTimeoutMs})`,
    for: SERVED,
  },
  COLONY_HEARTBEAT_MS: { schema: int(10, 60_000).default(DEFAULTS.heartbeatMs), help: `heartbeat interval (default ${DEFAULTS.heartbeatMs})`, for: CLUSTER },
  COLONY_SUSPECT_AFTER_MS: { schema: int(10, 10 * 60_000).optional(), help: "silence before a host is suspected and probed (default 2 heartbeats)", for: CLUSTER },
  COLONY_FAILURE_TIMEOUT_MS: {
    schema: int(20, 10 * 60_000).default(DEFAULTS.failureTimeoutMs),
    help: `silence before a connected but silent host is dead (default ${DEFAULTS.failureTimeoutMs})`,
    for: CLUSTER,
  },
  COLONY_PLACEMENT: {
    schema: z.enum(STRATEGY_NAMES).default(DEFAULTS.placement),
    help: `placement strategy: ${STRATEGY_NAMES.map((n) => (n === DEFAULT_STRATEGY ? `${n} (default)` : n)).join(", ")}`,
    for: ["dev", "directory"],
  },
  COLONY_STALL_FENCE: { schema: z.enum(["true", "false"]).default("true"), help: "drop activations after a freeze past the failure timeout (default true)", for: ["host"] },
  COLONY_MODEL_CONCURRENCY: { schema: int(1, 10_000).default(8), help: "model calls in flight at once on this host (default 8)", for: SERVED },
  COLONY_MCP_ALLOW_STDIO: {
    schema: z.enum(["1", "true", "0", "false"]).optional(),
    help: "1: accept and start stdio MCP servers (processes an API caller names); default refused",
    for: SERVED,
  },
  ANTHROPIC_API_KEY: { schema: z.string().min(1).optional(), help: "use Claude; unset means the offline scripted model", for: SERVED },
  ANTHROPIC_BASE_URL: { schema: z.string().url().optional(), help: "another Messages API endpoint", for: SERVED },
  COLONY_SECRETS_DIR: {
    schema: z.string().min(1).optional(),
    help: "files named after secrets: {{secret:NAME}} in HTTP tools reads COLONY_SECRET_<NAME>, else this directory's file NAME",
    for: SERVED,
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    schema: z.string().refine((v) => urlWithScheme(v, HTTP_SCHEMES), "must be an http:// or https:// URL, e.g. http://127.0.0.1:4318").optional(),
    help: "export traces over OTLP/HTTP (JSON) to this collector (/v1/traces is appended); unset: no tracing",
    for: SERVED,
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    schema: z.string().refine((v) => urlWithScheme(v, HTTP_SCHEMES), "must be an http:// or https:// URL, e.g. http://127.0.0.1:4318/v1/traces").optional(),
    help: "the full traces URL, used as is (overrides OTEL_EXPORTER_OTLP_ENDPOINT)",
    for: SERVED,
  },
  OTEL_EXPORTER_OTLP_HEADERS: {
    schema: z.string().regex(OTLP_HEADERS, "must be key=value pairs separated by commas, e.g. authorization=Bearer%20abc").optional(),
    help: "headers sent with every export (key=value,key2=value2; URL-encoded values)",
    for: SERVED,
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    schema: z.enum(["http/json"]).optional(),
    help: "http/json, the only protocol this build exports with (default)",
    for: SERVED,
  },
  OTEL_SERVICE_NAME: { schema: z.string().min(1).max(256).optional(), help: "service.name of the exported spans (default colony)", for: SERVED },
  OTEL_BSP_SCHEDULE_DELAY: { schema: int(1, 60_000).default(DEFAULTS.otelScheduleDelayMs), help: `how often finished spans are sent, in ms (default ${DEFAULTS.otelScheduleDelayMs})`, for: SERVED },
  OTEL_SDK_DISABLED: { schema: z.enum(["true", "false"]).optional(), help: "true: no tracing even with an endpoint set", for: SERVED },
  LOG_LEVEL: {
    schema: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default(DEFAULTS.logLevel),
    help: `trace, debug, info (default), warn, error, fatal, silent`,
    for: ALL,
  },
  COLONY_MESSAGE_TIMING: {
    // Read where the stages are marked (@colony/actors/message-timing); listed here to be checked and documented.
    schema: z.enum(["0", "1"]).optional(),
    help: "1: answer each message with its wall-clock stages as a Server-Timing header (diagnostics)",
    for: SERVED,
  },
  /** Test only: SIGUSR2 busy-loops the event loop this long (a GC pause, a big parse). Unset: no handler. */
  COLONY_TEST_BLOCK_ON_SIGUSR2_MS: { schema: int(1, 60_000).optional(), help: "test only", for: [] },
} satisfies Record<string, Setting>;

type Schemas<T extends Record<string, Setting>> = { [K in keyof T]: T[K]["schema"] };
const schemaOf = <T extends Record<string, Setting>>(table: T) =>
  z.object(Object.fromEntries(Object.entries(table).map(([name, s]) => [name, s.schema])) as Schemas<T>);

/** The environment as zod parses it: one field per setting. */
export const envSchema = schemaOf(SETTINGS);

/** The variables `colony <command>` reads, one per line, for its `--help`. */
export function envHelp(command: Process): string {
  const rows = Object.entries(SETTINGS as Record<string, Setting>).filter(([, s]) => s.for.includes(command));
  const width = Math.max(...rows.map(([name]) => name.length));
  return `\nEnvironment:\n${rows.map(([name, s]) => `  ${name.padEnd(width)}  ${s.help}`).join("\n")}`;
}

/** Every variable a process reads (for tests that hold the README to the code). */
export const ENV_NAMES: readonly string[] = Object.keys(SETTINGS);

