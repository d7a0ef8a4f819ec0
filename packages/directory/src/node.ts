import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { Registry } from "prom-client";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Clock, Logger, Transport } from "@colony/actors";
import { errorMessage, systemClock } from "@colony/actors";
import { requireBearer } from "./http/bearer.ts";
import { MembershipTable } from "./membership/membership-table.ts";
import { DirectoryMetrics } from "./metrics.ts";
import { strategies } from "./placement/strategies.ts";
import type { StrategyName } from "./placement/strategy.ts";
import type { PlacementRegistry } from "./registry/registry.ts";
import { DirectoryService } from "./service/directory-service.ts";

export interface DirectoryNodeOptions {
  id: string;
  transport: Transport;
  registry: PlacementRegistry;
  logger: Logger;
  clock?: Clock;
  heartbeatMs: number;
  failureTimeoutMs: number;
  /** Silence before a host is suspected and probed; default two heartbeats. */
  suspectAfterMs?: number;
  strategy: StrategyName;
  /** Serve /healthz, /readyz and /metrics here; omit for an embedded directory. */
  http?: { host: string; port: number };
  defaultMetrics?: boolean;
  /** Required as a bearer token on /v1/* when set (COLONY_ADMIN_TOKEN). */
  adminToken?: string;
  /** Close the registry and transport on shutdown (false when shared in-process). */
  ownsConnections?: boolean;
  /** What of the registry's dependencies (Redis) is unreachable, or undefined: /readyz answers 503 while it says so. */
  dependencies?: () => string | undefined;
  /** Milliseconds since the registry's store last answered (StoreWatch): lets the directory tell a host cut off from Redis. */
  storeSilentMs?: () => number;
}

/** A directory process: the service, its metrics, and a small HTTP surface for probes and scraping. */
export class DirectoryNode {
  readonly service: DirectoryService;
  readonly metrics: Registry;
  private server: Server | undefined;

  private constructor(private readonly o: DirectoryNodeOptions) {
    const metrics = new DirectoryMetrics(o.defaultMetrics !== false);
    this.metrics = metrics.registry;
    const clock = o.clock ?? systemClock;
    this.service = DirectoryService.start({
      id: o.id,
      transport: o.transport,
      registry: o.registry,
      membership: new MembershipTable({ clock, heartbeatMs: o.heartbeatMs, failureTimeoutMs: o.failureTimeoutMs, ...(o.suspectAfterMs !== undefined ? { suspectAfterMs: o.suspectAfterMs } : {}) }),
      strategy: strategies[o.strategy],
      clock,
      logger: o.logger,
      heartbeatMs: o.heartbeatMs,
      failureTimeoutMs: o.failureTimeoutMs,
      onMembership: (snap) => metrics.membership(snap.hosts.length),
      onPlaced: (reason) => metrics.placed(reason),
      ...(o.storeSilentMs ? { storeSilentMs: o.storeSilentMs } : {}),
    });
  }

  static async start(o: DirectoryNodeOptions): Promise<DirectoryNode> {
    const node = new DirectoryNode(o);
    if (o.http) await node.listen(o.http.host, o.http.port);
    return node;
  }

  private listen(hostname: string, port: number): Promise<void> {
    const app = new Hono();
    app.get("/healthz", (c) => c.json({ status: "ok", directory: this.o.id }));
    app.get("/readyz", (c) => {
      const reason = this.o.transport.status() === "connected" ? this.o.dependencies?.() : "NATS is unreachable";
      return reason === undefined ? c.json({ status: "ready" }) : c.json({ error: { code: "unavailable", message: reason } }, 503);
    });
    app.get("/metrics", async (c) => {
      c.header("Content-Type", this.metrics.contentType);
      return c.body(await this.metrics.metrics());
    });
    if (this.o.adminToken) app.use("/v1/*", requireBearer(this.o.adminToken));
    app.get("/v1/hosts", (c) => c.json(this.service.hosts()));
    app.notFound((c) => c.json({ error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}` } }, 404));
    return new Promise((resolve, reject) => {
      const server = serve({ fetch: app.fetch, port, hostname }, () => resolve()) as Server;
      server.once("error", reject);
      this.server = server;
    });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async shutdown(): Promise<void> {
    await this.service.stop();
    if (this.server) {
      const closed = new Promise<void>((r) => this.server!.close(() => r()));
      this.server.closeAllConnections();
      await closed;
    }
    if (this.o.ownsConnections !== false) {
      await this.o.transport.close().catch((e) => this.o.logger.warn({ err: errorMessage(e) }, "closing the transport failed"));
      await this.o.registry.close().catch(() => undefined);
    }
    this.o.logger.info({}, "stopped");
  }
}
