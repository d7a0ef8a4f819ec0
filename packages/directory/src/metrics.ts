import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { PlacementReason } from "./service/directory-service.ts";

/** Every metric a directory process exports (GET /metrics); the host's are in @colony/host's metrics module. */
export class DirectoryMetrics {
  readonly registry = new Registry();
  private readonly hosts = new Gauge({ name: "colony_hosts", help: "Live hosts in the membership (draining ones included).", registers: [this.registry] });
  private readonly placements = new Counter({
    name: "colony_directory_placements_total",
    help: "Agents placed by this directory replica, by why (new, failover, handoff).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  /** `defaults`: also the process metrics (CPU, memory, event loop) prom-client collects. */
  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }

  membership(liveHosts: number): void {
    this.hosts.set(liveHosts);
  }

  placed(reason: PlacementReason): void {
    this.placements.inc({ reason });
  }
}
