import { Redis } from "ioredis";
import type { Logger, ModelProvider, StoreDriver } from "@colony/actors";
import { AnthropicModel, MemoryStoreDriver, RedisStoreDriver, ScriptedModel, errorMessage } from "@colony/actors";
import type { HostConfig } from "../config.ts";
import { ConfigError, loadConfig } from "../config.ts";
import { createLogger } from "../logger.ts";
import { HostNode } from "../node.ts";
import { runUntilSignalled } from "../process.ts";

/** Binding beyond loopback exposes the admin API: that needs a token. */
export function assertSafeBinding(config: HostConfig): void {
  const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(config.httpHost);
  if (!loopback && !config.adminToken) {
    throw new ConfigError(`COLONY_HTTP_HOST=${config.httpHost} is not a loopback address: set COLONY_ADMIN_TOKEN (16+ characters) to protect the admin API`);
  }
}

function modelFor(config: HostConfig, logger: Logger): ModelProvider {
  if (!config.anthropicApiKey) {
    logger.info({}, "ANTHROPIC_API_KEY is not set: agents use the offline scripted model");
    return new ScriptedModel();
  }
  return new AnthropicModel({ apiKey: config.anthropicApiKey, ...(config.anthropicBaseUrl ? { baseURL: config.anthropicBaseUrl } : {}) });
}

async function serve(mode: "dev" | "host", driverFor: (config: HostConfig) => StoreDriver): Promise<void> {
  let config: HostConfig;
  try {
    config = loadConfig();
    assertSafeBinding(config);
  } catch (e) {
    process.stderr.write(`colony ${mode}: ${errorMessage(e)}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel, { host: config.hostId });
  const node = await HostNode.start({ config, driver: driverFor(config), model: modelFor(config, logger), logger });
  logger.info({ url: node.url, port: node.port, mode }, "listening");
  runUntilSignalled(node, logger);
}

export const runDev = () => serve("dev", () => new MemoryStoreDriver());

export const runHost = () =>
  serve("host", (config) => {
    if (!config.redisUrl) {
      process.stderr.write("colony host: REDIS_URL is required (e.g. redis://127.0.0.1:6379)\n");
      process.exit(2);
    }
    return new RedisStoreDriver(new Redis(config.redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: true }));
  });
