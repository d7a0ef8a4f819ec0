import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { Registry } from "prom-client";
import type { HostService } from "../host.ts";
import { Health, Ready } from "./components.ts";
import { errorBody } from "./errors.ts";
import { OPEN, err, json, text } from "./route-kit.ts";

const healthz = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "healthz",
  summary: "Liveness: the process serves HTTP.",
  tags: ["probes"],
  ...OPEN,
  responses: { 200: json(Health, "alive") },
});

const readyz = createRoute({
  method: "get",
  path: "/readyz",
  operationId: "readyz",
  summary: "Readiness: 503 while starting or draining, or while NATS or Redis is unreachable.",
  tags: ["probes"],
  ...OPEN,
  responses: { 200: json(Ready, "ready to serve"), 503: err("unavailable: starting, draining, or NATS or Redis unreachable") },
});

const metrics = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "metrics",
  summary: "Prometheus metrics in the text exposition format.",
  tags: ["probes"],
  ...OPEN,
  responses: { 200: text("text/plain; version=0.0.4; charset=utf-8", "Prometheus text format") },
});

/**
 * Liveness, readiness and metrics: open even with COLONY_ADMIN_TOKEN.
 * `notReady` says why the host cannot serve (starting, NATS or Redis unreachable), or undefined when it can.
 */
export function registerProbeRoutes(app: OpenAPIHono, service: HostService, registry: Registry, notReady: () => string | undefined): void {
  app.openapi(healthz, (c) => c.json({ status: "ok" as const, host: service.hostId }, 200));
  app.openapi(readyz, (c) => {
    if (service.isDraining) return c.json(errorBody("unavailable", "host is draining"), 503);
    const reason = notReady();
    if (reason !== undefined) return c.json(errorBody("unavailable", reason), 503);
    return c.json({ status: "ready" as const, host: service.hostId }, 200);
  });
  app.openapi(metrics, async (c) => {
    c.header("Content-Type", registry.contentType);
    return c.body(await registry.metrics(), 200);
  });
}
