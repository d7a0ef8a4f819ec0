import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { AgentEventRecord, AgentId, HostId, Subscription } from "@colony/actors";
import {
  AgentNotHereError,
  AgentStore,
  AgentTypeRegistry,
  NactRuntime,
  ToolRegistry,
  errorMessage,
  randomToken,
  sleep,
  recallTool,
  rememberTool,
  systemClock,
} from "@colony/actors";
import type { Heartbeat } from "@colony/directory";
import { DirectoryClient } from "@colony/directory";
import { createAdminApi } from "./admin/app.ts";
import type { HostNodeOptions } from "./node-options.ts";
import { declaredToolSources } from "./node-options.ts";

export type { HostNodeOptions };
import { Catalog } from "./catalog/catalog.ts";
import { HeartbeatLoop } from "./cluster/heartbeat.ts";
import type { DelegationHost } from "./delegation/delegate-tool.ts";
import { delegateTool } from "./delegation/delegate-tool.ts";
import { HostService } from "./host.ts";
import { AgentTypes } from "./agent-types.ts";
import { McpToolSource } from "./mcp/source.ts";
import { MemoryTypeStore } from "./records/type-store.ts";
import { AgentEventHub } from "./observability/events.ts";
import type { SpanExport } from "./observability/otel.ts";
import { ColonyMetrics } from "./metrics/metrics.ts";
import { serveInbound } from "./routing/inbound.ts";
import { LocalAgents } from "./routing/local.ts";
import { AgentRouter } from "./routing/router.ts";
import { DeclaredTools } from "./tools/declared-tools.ts";
import { HttpTools } from "./tools/http-tools.ts";
import { hostStats } from "./metrics/stats.ts";

/** Attempts at releasing one placement (~1 min with the backoff) before leaving its messages to the agent's next message. */
const RELEASE_ATTEMPTS = 30;
const RELEASE_BACKOFF_MAX_MS = 2_000;

/** Built-in tools every host offers (an agent gets only those its config lists). */
export function builtinTools(): ToolRegistry {
  return new ToolRegistry([rememberTool, recallTool]);
}

/**
 * One host, wired: store, actor runtime, activation table, routing over the
 * transport, heartbeats, the admin API and its HTTP server. `shutdown()` is
 * the SIGTERM path.
 */
export class HostNode {
  readonly service: HostService;
  readonly catalog: Catalog;
  readonly metrics: ColonyMetrics;
  readonly directory: DirectoryClient;
  readonly app: Hono;
  readonly store: AgentStore;
  readonly hostId: HostId;
  readonly events: AgentEventHub;
  /** The declared HTTP tools as this host knows them. */
  readonly declaredTools: DeclaredTools;
  /** The tools of the declared MCP servers, as this host sees them. */
  readonly mcp: McpToolSource;
  private readonly local: LocalAgents;
  private readonly runtime = new NactRuntime();
  private readonly heartbeat: HeartbeatLoop;
  private readonly inbound: Subscription;
  /** The directory's announcements of hosts gone: cached routes to them are dropped at once. */
  private readonly membershipWatch: Subscription;
  private readonly releases = new Set<Promise<unknown>>();
  private readonly incarnation = randomToken(8);
  private readonly startedAt = Date.now();
  private server: Server | undefined;
  private shuttingDown: Promise<void> | undefined;

  // Long because it wires every part of a host in the order they depend on each other, one statement per part.
  private constructor(private readonly opts: HostNodeOptions) {
    const clock = opts.clock ?? systemClock;
    const { config, logger, transport } = opts;
    this.hostId = config.hostId as HostId;
    this.metrics = opts.metrics ?? new ColonyMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
    this.store = new AgentStore(opts.driver, this.metrics);
    const tools = opts.tools ?? builtinTools();
    const types = opts.types ?? new AgentTypeRegistry();
    const { toolStore, mcpStore, declared, mcp } = declaredToolSources(opts, this.hostId);
    this.declaredTools = declared;
    this.mcp = mcp;
    tools.addSource(declared);
    tools.addSource(mcp);
    this.events = new AgentEventHub({ hostId: this.hostId, traces: opts.traces, transport, logger });
    this.directory = new DirectoryClient({ hostId: this.hostId, transport, clock, onLookup: (result) => this.metrics.directoryLookup(result) });
    this.catalog = new Catalog({
      hostId: this.hostId,
      store: this.store,
      model: opts.model,
      tools,
      runtime: this.runtime,
      clock,
      metrics: this.metrics,
      logger,
      approvals: opts.approvals,
      onEvent: opts.spans ? teeEvents(this.events.record, opts.spans) : this.events.record,
      defaultIdleMs: config.idleMs,
      release: (id, epoch, pending) => this.release(id, epoch, pending),
    });
    this.metrics.trackActive(() => this.catalog.countByType());
    const local = new LocalAgents(this.hostId, this.catalog, this.metrics, opts.model);
    this.local = local;
    const router = new AgentRouter({ hostId: this.hostId, local, directory: this.directory, transport, clock });
    this.service = new HostService({
      hostId: this.hostId,
      store: this.store,
      registry: opts.registry,
      router,
      directory: this.directory,
      approvals: opts.approvals,
      traces: opts.traces,
      events: this.events,
      local,
      types,
      tools,
      model: opts.model,
      agentTypes: new AgentTypes({ registry: types, store: opts.typeStore ?? new MemoryTypeStore(), tools, model: opts.model, clock }),
      clock,
      logger,
      waitTimeoutMs: config.waitTimeoutMs,
    });
    const describe = () => this.describe();
    this.inbound = serveInbound({ hostId: this.hostId, transport, local, describe, stats: () => hostStats(this.hostId, this.metrics, clock.now()) });
    this.membershipWatch = this.directory.watchMembership();
    this.heartbeat = new HeartbeatLoop({
      transport,
      logger,
      intervalMs: config.heartbeatMs,
      failureTimeoutMs: config.failureTimeoutMs,
      describe,
      ...(opts.stallDetection ? { onStall: () => this.onStall() } : {}),
    });
    if (!tools.isRegistered("delegate")) tools.register(delegateTool(this.delegationHost()));
    this.app = createAdminApi({
      service: this.service,
      mcp: { source: this.mcp, store: mcpStore, allowStdio: config.mcpAllowStdio ?? false },
      registry: this.metrics.registry,
      logger,
      notReady: () => this.notReady(),
      ...(config.adminToken ? { adminToken: config.adminToken } : {}),
      httpTools: new HttpTools({ store: toolStore, declared: this.declaredTools, registry: tools, clock }),
    });
  }

  /** This host as its heartbeats and probe answers describe it. */
  private describe(): Heartbeat {
    return {
      id: this.hostId,
      address: this.url,
      agents: this.catalog.activeCount(),
      load: this.catalog.load(),
      draining: this.service.isDraining,
      incarnation: this.incarnation,
      startedAt: this.startedAt,
      ...(this.opts.storeSilentMs ? { storeSilentMs: this.opts.storeSilentMs() } : {}),
    };
  }

  /** Why /readyz answers 503, or undefined when the host serves. */
  private notReady(): string | undefined {
    if (this.server === undefined) return "host is starting";
    if (this.shuttingDown !== undefined) return "host is stopping";
    if (this.opts.transport.status() !== "connected") return "NATS is unreachable";
    return this.opts.dependencies?.();
  }

  /** What the delegate tool needs, served by this host: workers are spawned and asked like any agent. */
  private delegationHost(): DelegationHost {
    return {
      spawnChild: (req) => this.service.spawnChild(req),
      childActivity: (ids) => this.service.childActivity(ids),
      ask: async (id, req) => {
        const out = await this.service.send(id, { content: req.content, idempotencyKey: req.idempotencyKey, waitMs: req.waitMs, ...(req.traceparent ? { traceparent: req.traceparent } : {}) });
        return out.kind === "completed" ? out.result : null;
      },
    };
  }

  /** Builds the host, starts serving HTTP on config.httpHost:httpPort and joins the cluster. */
  static async start(opts: HostNodeOptions): Promise<HostNode> {
    const node = new HostNode(opts);
    await node.declaredTools.start();
    node.catalog.startSweeping();
    await node.mcp.start();
    await node.listen();
    node.heartbeat.start();
    return node;
  }

  /**
   * Releases a placement this host gave up, retrying (the directory or its
   * Redis may be briefly unreachable) until it lands or the host shuts
   * down: with `pending` messages, a release that never lands would leave
   * them with no activation until a new message arrives. If the directory
   * places the agent back here, it is activated here (the directory only
   * activates agents it places elsewhere).
   */
  private release(id: AgentId, epoch: number, pending: number): Promise<void> {
    const p = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          const out = await this.directory.release(id, epoch, pending > 0);
          if (pending > 0 && out.placement?.host === this.hostId) await this.local.activate(id, out.placement.epoch, "restore");
          return;
        } catch (e) {
          if (this.shuttingDown !== undefined || attempt >= RELEASE_ATTEMPTS) throw e;
          await sleep(Math.min(RELEASE_BACKOFF_MAX_MS, 100 * 2 ** attempt));
        }
      }
    })()
      .catch((e) => this.opts.logger.warn({ agent: id, epoch, pending, err: errorMessage(e) }, "releasing a placement failed; its messages wait for the agent's next message"))
      .finally(() => this.releases.delete(p));
    this.releases.add(p);
    return p;
  }

  /** This process was frozen past the failure timeout: its activations may have moved; drop them all, re-placing those with work. */
  private onStall(): void {
    const released = this.catalog.evictAll(new AgentNotHereError("*", this.hostId));
    this.opts.logger.warn({ released }, "activations dropped after a stall; those with queued messages released for re-placement");
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

  /** The admin API's URL as others should use it (COLONY_ADVERTISE_URL, else the bound address). */
  get url(): string {
    if (this.opts.config.advertiseUrl) return this.opts.config.advertiseUrl;
    const h = this.opts.config.httpHost;
    return `http://${h.includes(":") ? `[${h}]` : h}:${this.port}`;
  }

  /**
   * Graceful stop: /readyz fails and the directory stops placing agents
   * here; activations stop (see drainMode) and release their placements, the
   * queued messages of handed-off agents start elsewhere at once; requests
   * that arrive meanwhile are routed to wherever their agent now lives; then
   * the host leaves the membership and closes.
   */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      const { logger: log, config } = this.opts;
      log.info({ drainMs: config.drainMs, active: this.catalog.activeCount(), mode: this.opts.drainMode }, "draining");
      this.service.startDraining();
      this.heartbeat.beat();
      await this.directory.drain().catch((e) => log.warn({ err: errorMessage(e) }, "could not tell the directory we drain"));
      await this.catalog.drain({ abortAfterMs: config.drainMs, handoff: this.opts.drainMode === "handoff" });
      await Promise.allSettled([...this.releases]);
      await this.events.flush();
      await this.opts.spans?.shutdown();
      await this.mcp.close();
      this.heartbeat.farewell();
      await this.directory.leave().catch((e) => log.warn({ err: errorMessage(e) }, "could not leave the membership"));
      const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
      this.server?.closeIdleConnections();
      const cut = setTimeout(() => this.server?.closeAllConnections(), Math.min(config.drainMs, 5_000));
      await closed;
      clearTimeout(cut);
      this.inbound.unsubscribe();
      this.membershipWatch.unsubscribe();
      this.events.close();
      this.declaredTools.stop();
      this.runtime.close();
      if (this.opts.ownsConnections !== false) {
        await this.opts.transport.close().catch((e) => log.warn({ err: errorMessage(e) }, "closing the transport failed"));
        await this.opts.registry.close().catch(() => undefined);
        await this.opts.driver.close().catch((e) => log.warn({ err: errorMessage(e) }, "closing the store failed"));
      }
      log.info({}, "stopped");
    })();
    return this.shuttingDown;
  }
}

/** Every event to the hub, then to the span export. */
function teeEvents(record: (rec: AgentEventRecord) => void, spans: SpanExport): (rec: AgentEventRecord) => void {
  return (rec) => {
    record(rec);
    spans.record(rec);
  };
}
