import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { HostService } from "../host.ts";
import { ClusterStats, Hosts } from "./components.ts";
import { V1_ERRORS, json } from "./route-kit.ts";

const hosts = createRoute({
  method: "get",
  path: "/v1/hosts",
  operationId: "listHosts",
  summary: "Cluster membership: hosts, their load and agents.",
  tags: ["cluster"],
  responses: { 200: json(Hosts, "the membership"), ...V1_ERRORS },
});

const stats = createRoute({
  method: "get",
  path: "/v1/cluster/stats",
  operationId: "clusterStats",
  summary: "Every live host's running totals (turns, tokens, cost, failovers, turn latency buckets): the console's cluster charts take rates from two reads.",
  tags: ["cluster"],
  responses: { 200: json(ClusterStats, "one row per live host; a host that did not answer within 1 s has `error` instead of `stats`"), ...V1_ERRORS },
});

/** Membership and every live host's running totals. */
export function registerClusterRoutes(app: OpenAPIHono, service: HostService): void {
  app.openapi(hosts, async (c) => c.json(await service.hosts(), 200));
  app.openapi(stats, async (c) => c.json(await service.clusterStats(), 200));
}
