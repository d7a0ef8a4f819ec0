import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { AgentId, Clock, HostId, Logger, ModelProvider, StoreDriver } from "@colony/actors";
import { AgentStore, AgentTypeRegistry, NactRuntime, ToolRegistry, errorMessage, recallTool, rememberTool, systemClock } from "@colony/actors";
import { createAdminApi } from "./admin/app.ts";
import { Catalog } from "./catalog/catalog.ts";
import type { HostConfig } from "./config.ts";
import { HostService } from "./host.ts";
import { ColonyMetrics } from "./metrics/metrics.ts";

export interface HostNodeOptions {
  config: HostConfig;
  driver: StoreDriver;
  model: ModelProvider;
  logger: Logger;
  clock?: Clock;
  types?: AgentTypeRegistry;
  tools?: ToolRegistry;
  /** Skip prom-client's default process metrics (tests running many hosts in one process). */
  defaultMetrics?: boolean;
  /** Grants activation epochs; defaults to claiming the store's fence directly (single host). */
  claim?: (id: AgentId) => Promise<number>;
}

/** Built-in tools every host offers (an agent gets only those its config lists). */
export function builtinTools(): ToolRegistry {
  return new ToolRegistry([rememberTool, recallTool]);
}

/**
 * One host, wired: store, actor runtime, activation table, host service,
 * admin API and its HTTP server. `shutdown()` is the SIGTERM path.
 */
export class HostNode {
  readonly service: HostService;
  readonly catalog: Catalog;
  readonly metrics: ColonyMetrics;
  readonly app: Hono;
  readonly store: AgentStore;
  private readonly runtime = new NactRuntime();
  private server: Server | undefined;
  private shuttingDown: Promise<void> | undefined;

  private constructor(private readonly opts: HostNodeOptions) {
    const clock = opts.clock ?? systemClock;
    const hostId = opts.config.hostId as HostId;
    const logger = opts.logger;
    this.metrics = new ColonyMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
    this.store = new AgentStore(opts.driver, this.metrics);
    const tools = opts.tools ?? builtinTools();
    this.catalog = new Catalog({
      hostId,
      store: this.store,
      model: opts.model,
      tools,
      runtime: this.runtime,
      clock,
      metrics: this.metrics,
      logger,
      claim: opts.claim ?? ((id) => this.store.claim(id)),
      defaultIdleMs: opts.config.idleMs,
    });
    this.metrics.trackActive(() => this.catalog.countByType());
    this.service = new HostService({
      hostId,
      store: this.store,
      catalog: this.catalog,
      types: opts.types ?? new AgentTypeRegistry(),
      tools,
      clock,
      metrics: this.metrics,
      logger,
      waitTimeoutMs: opts.config.waitTimeoutMs,
    });
    const apiOpts: Parameters<typeof createAdminApi>[0] = {
      service: this.service,
      registry: this.metrics.registry,
      logger,
      isReady: () => this.server !== undefined && this.shuttingDown === undefined,
    };
    if (opts.config.adminToken) apiOpts.adminToken = opts.config.adminToken;
    this.app = createAdminApi(apiOpts);
  }

  /** Builds the host and starts serving HTTP on config.httpHost:httpPort. */
  static async start(opts: HostNodeOptions): Promise<HostNode> {
    const node = new HostNode(opts);
    node.catalog.startSweeping();
    await node.listen();
    return node;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = serve({ fetch: this.app.fetch, port: this.opts.config.httpPort, hostname: this.opts.config.httpHost }, () => resolve()) as Server;
      server.once("error", reject);
      this.server = server;
    });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    return `http://${this.opts.config.httpHost.includes(":") ? `[${this.opts.config.httpHost}]` : this.opts.config.httpHost}:${this.port}`;
  }

  /**
   * Graceful stop: refuse new work (503, /readyz down), let accepted messages
   * finish within drainMs (after that running turns stop at their last
   * checkpoint, still in the durable inbox), answer waiting requests, close.
   */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      const log = this.opts.logger;
      log.info({ drainMs: this.opts.config.drainMs, active: this.catalog.activeCount() }, "draining");
      this.service.startDraining();
      const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
      this.server?.closeIdleConnections();
      await this.catalog.drain(this.opts.config.drainMs);
      // Replies to waiting requests go out now; give them a moment, then cut.
      const cut = setTimeout(() => this.server?.closeAllConnections(), 2_000);
      this.server?.closeIdleConnections();
      await closed;
      clearTimeout(cut);
      this.runtime.close();
      await this.opts.driver.close().catch((e) => log.warn({ err: errorMessage(e) }, "closing the store failed"));
      log.info({}, "stopped");
    })();
    return this.shuttingDown;
  }
}
