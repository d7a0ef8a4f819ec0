import type { Logger, ModelProvider } from "@colony/actors";
import type { RedisClient } from "@colony/actors";
import { AnthropicModel, ModelCallLimiter, RedisApprovalIndex, RedisStoreDriver, ScriptedModel, connectRedis, errorMessage } from "@colony/actors";
import { DirectoryNode, RedisPlacementRegistry, StoreWatch } from "@colony/directory";
import type { HostConfig } from "../config.ts";
import { ConfigError, loadConfig, secretResolver } from "../config.ts";
import { EmbeddedCluster } from "../embedded.ts";
import { createLogger } from "../logger.ts";
import { ColonyMetrics } from "../metrics/metrics.ts";
import { RedisMcpServerStore } from "../mcp/store.ts";
import { RedisTypeStore } from "../records/type-store.ts";
import { HostNode } from "../node.ts";
import { startSpanExport } from "../observability/otel.ts";
import { RedisTraceStore } from "../observability/trace-store.ts";
import { SHUTDOWN_MARGIN_MS, runUntilSignalled } from "../process.ts";
import { awaitRedis, connectNats, redisReadiness, startupFailure } from "./startup.ts";
import { RedisToolDeclarationStore } from "../tools/tool-declaration-store.ts";

/** Binding beyond loopback exposes the admin API: that needs a token. */
export function assertSafeBinding(config: HostConfig): void {
  const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(config.httpHost);
  if (!loopback && !config.adminToken) {
    throw new ConfigError(`COLONY_HTTP_HOST=${config.httpHost} is not a loopback address: set COLONY_ADMIN_TOKEN (16+ characters) to protect the admin API`);
  }
}

/** Claude when ANTHROPIC_API_KEY is set, with this host's limiter, circuit breaker and metrics; else the scripted model. */
function modelFor(config: HostConfig, logger: Logger, metrics: ColonyMetrics): ModelProvider {
  if (!config.anthropicApiKey) {
    logger.info({}, "ANTHROPIC_API_KEY is not set: agents use the offline scripted model");
    return new ScriptedModel();
  }
  return new AnthropicModel({
    apiKey: config.anthropicApiKey,
    ...(config.anthropicBaseUrl ? { baseURL: config.anthropicBaseUrl } : {}),
    metrics,
    limiter: new ModelCallLimiter({ maxConcurrent: config.modelConcurrency }),
    circuitBreaker: { onStateChange: (state) => logger.warn({ state }, "model API circuit breaker changed state") },
  });
}

/** Parses the environment, or exits 2 with a message naming the variable. */
function configFor(command: string, required: ("redisUrl" | "natsUrl")[] = []): HostConfig {
  try {
    const config = loadConfig();
    assertSafeBinding(config);
    for (const r of required) {
      if (!config[r]) throw new ConfigError(`${r === "redisUrl" ? "REDIS_URL (e.g. redis://127.0.0.1:6379)" : "NATS_URL (e.g. nats://127.0.0.1:4222)"} is required`);
    }
    return config;
  } catch (e) {
    return fail(command, errorMessage(e));
  }
}

/** One line naming what to fix, exit 2: no stack trace for a mistake in the environment. */
function fail(command: string, line: string): never {
  process.stderr.write(`colony ${command}: ${line}\n`);
  process.exit(2);
}

/** Runs a command's start; a failure the operator must fix (see startupFailure) exits 2 with its one line. */
async function starting<T>(command: string, config: HostConfig, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const line = startupFailure(e, config);
    if (line !== undefined) fail(command, line);
    throw e;
  }
}

/** Connections fail fast while Redis is unreachable (the API answers 503) and reconnect by themselves. */
const redisFor = (config: HostConfig, logger: Logger, use: string) => connectRedis(config.redisUrl!, logger, `colony-${config.hostId}-${use}`);

/** `colony dev`: directory and one host in this process, in-memory bus and store. */
export async function runDev(): Promise<void> {
  const config = configFor("dev");
  const logger = createLogger(config.logLevel, { host: config.hostId });
  const metrics = new ColonyMetrics();
  const spans = await startSpanExport(config.otel, { hostId: config.hostId, logger });
  const cluster = await starting("dev", config, () =>
    EmbeddedCluster.start({ config, model: modelFor(config, logger, metrics), logger, metrics, secrets: secretResolver(config), ...(spans ? { spans } : {}) }),
  );
  const host = cluster.hosts[0]!;
  logger.info({ url: host.url, port: host.port, mode: "dev", console: `${host.url}/ui` }, "listening");
  runUntilSignalled(cluster, logger, { deadlineMs: config.drainMs + SHUTDOWN_MARGIN_MS });
}

/** Pings Redis every heartbeat; how long since it last answered (what a heartbeat says, and what the directory compares it with). */
function watchStore(redis: RedisClient, config: HostConfig): () => number {
  const watch = new StoreWatch(() => redis.ping(), config.heartbeatMs).start();
  return () => watch.silentMs();
}

/** `colony host`: one host of a cluster (NATS_URL, REDIS_URL). */
export async function runHost(): Promise<void> {
  const config = configFor("host", ["natsUrl", "redisUrl"]);
  const logger = createLogger(config.logLevel, { host: config.hostId });
  const metrics = new ColonyMetrics();
  const spans = await startSpanExport(config.otel, { hostId: config.hostId, logger });
  const host = await starting("host", config, async () => {
    const transport = await connectNats(config, logger, { name: `colony-host-${config.hostId}`, onMessage: (direction) => metrics.transportMessages.inc({ direction }) });
    const [store, registry, approvals, types, mcp] = [redisFor(config, logger, "store"), redisFor(config, logger, "registry"), redisFor(config, logger, "approvals"), redisFor(config, logger, "types"), redisFor(config, logger, "mcp")];
    const redis = [store, registry, approvals, types, mcp];
    // Every connection: a Redis Cluster client refuses commands until it has read the slots.
    await Promise.all(redis.map((r) => awaitRedis(r, config, logger)));
    return HostNode.start({
      config,
      driver: new RedisStoreDriver(store, true, config.redisWait),
      registry: new RedisPlacementRegistry(registry),
      approvals: new RedisApprovalIndex(approvals),
      // The store's connection: trace entries are written in batches every 20 ms (TRACE_FLUSH_DELAY_MS),
      // after the commits of the turns they describe rather than in the same write.
      traces: new RedisTraceStore(store),
      typeStore: new RedisTypeStore(types),
      toolStore: new RedisToolDeclarationStore(types),
      secrets: secretResolver(config),
      mcpStore: new RedisMcpServerStore(mcp),
      transport,
      model: modelFor(config, logger, metrics),
      logger,
      metrics,
      drainMode: "handoff",
      stallDetection: config.stallFence,
      dependencies: redisReadiness(redis),
      storeSilentMs: watchStore(store, config),
      ...(spans ? { spans } : {}),
    });
  });
  if (config.testBlockOnSignalMs !== undefined) blockOnSignal(config.testBlockOnSignalMs, logger);
  logger.info({ url: host.url, port: host.port, mode: "host", console: `${host.url}/ui` }, "listening");
  runUntilSignalled(host, logger, { deadlineMs: config.drainMs + SHUTDOWN_MARGIN_MS });
}

/** `colony directory`: a directory replica (NATS_URL, REDIS_URL); run two for availability. */
export async function runDirectory(): Promise<void> {
  const config = configFor("directory", ["natsUrl", "redisUrl"]);
  const logger = createLogger(config.logLevel, { directory: config.hostId });
  const node = await starting("directory", config, async () => {
    const transport = await connectNats(config, logger, { name: `colony-directory-${config.hostId}` });
    const redis = redisFor(config, logger, "registry");
    await awaitRedis(redis, config, logger);
    return DirectoryNode.start({
      id: config.hostId,
      transport,
      registry: new RedisPlacementRegistry(redis),
      logger,
      heartbeatMs: config.heartbeatMs,
      failureTimeoutMs: config.failureTimeoutMs,
      ...(config.suspectAfterMs !== undefined ? { suspectAfterMs: config.suspectAfterMs } : {}),
      strategy: config.placement,
      http: { host: config.httpHost, port: config.httpPort },
      ...(config.adminToken ? { adminToken: config.adminToken } : {}),
      dependencies: redisReadiness([redis]),
      storeSilentMs: watchStore(redis, config),
    });
  });
  logger.info({ port: node.port, mode: "directory", placement: config.placement, failureTimeoutMs: config.failureTimeoutMs }, "listening");
  runUntilSignalled(node, logger);
}

/** Test only: freezes this process's event loop on SIGUSR2, as a long GC pause or a big synchronous parse does. */
function blockOnSignal(ms: number, logger: Logger): void {
  process.on("SIGUSR2", () => {
    logger.warn({ ms }, "test hook: blocking the event loop");
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // busy on purpose: nothing else in this process runs
    }
    logger.warn({ ms }, "test hook: event loop released");
  });
}
