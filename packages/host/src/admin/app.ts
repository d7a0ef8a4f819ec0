import { OpenAPIHono } from "@hono/zod-openapi";
import type { Hono } from "hono";
import type { BlankEnv } from "hono/types";
import type { Registry } from "prom-client";
import type { Logger } from "@colony/actors";
import { messageTiming } from "@colony/actors";
import { requireBearer } from "@colony/directory";
import type { HostService } from "../host.ts";
import type { HttpTools } from "../tools/http-tools.ts";
import { registerAgentRoutes } from "./agent-routes.ts";
import { allowedMethods } from "./allowed-methods.ts";
import { registerApprovalRoutes } from "./approval-routes.ts";
import { limitBody } from "./body-limit.ts";
import { registerClusterRoutes } from "./cluster-routes.ts";
import { registerConsoleRoutes } from "./console-routes.ts";
import { registerDeadLetterRoutes } from "./dead-letter-routes.ts";
import { errorBody, toHttpError } from "./errors.ts";
import { registerEventRoutes } from "./event-routes.ts";
import { type McpRoutesOptions, registerMcpRoutes } from "./mcp-routes.ts";
import { registerMessageRoutes } from "./message-routes.ts";
import { registerOpenApiRoute } from "./openapi.ts";
import { registerProbeRoutes } from "./probe-routes.ts";
import { refuseCrossSite, refuseNonJsonBody } from "./request-guards.ts";
import { fromValidator, validationHook } from "./route-kit.ts";
import { MAX_BODY_BYTES } from "./schemas.ts";
import { registerToolRoutes } from "./tool-routes.ts";
import { registerTypeRoutes } from "./type-routes.ts";

export interface AdminApiOptions {
  service: HostService;
  registry: Registry;
  logger: Logger;
  /** When set, every /v1 route requires `Authorization: Bearer <token>`. */
  adminToken?: string;
  /** Why the host cannot serve (starting, NATS or Redis unreachable), or undefined when it can: /readyz answers 503 with it. */
  notReady: () => string | undefined;
  /** Events a live stream holds for a slow client before it drops and counts them (default 1,000). */
  streamBuffer?: number;
  /** HTTP tools declared through the API (/v1/tools). */
  httpTools?: HttpTools;
  /** Declared MCP servers (/v1/mcp); the routes are absent without it. */
  mcp?: McpRoutesOptions;
}

/**
 * The admin HTTP API (README "The admin API") on Hono. Built as a plain fetch handler so
 * tests can call `app.request()` without opening a socket. Every route is declared once, with
 * its zod schemas, in an admin/*-routes.ts module: the same declaration validates the request
 * and documents the operation in GET /v1/openapi.json.
 */
export function createAdminApi(opts: AdminApiOptions): Hono {
  const { service } = opts;
  // A failed validation throws the API's ValidationError (route-kit.ts), answered by onError below.
  const app = new OpenAPIHono<BlankEnv>({ defaultHook: validationHook });

  app.onError((thrown, c) => {
    const err = fromValidator(thrown, c);
    if (err instanceof Response) return err;
    const mapped = toHttpError(err);
    if (mapped.internal) opts.logger.error({ err: (err as Error).message, stack: (err as Error).stack, path: c.req.path }, "request failed");
    if (mapped.retryAfterMs !== undefined) c.header("Retry-After", String(Math.ceil(mapped.retryAfterMs / 1000)));
    return c.json(mapped.body, mapped.status);
  });
  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    if (methods.length === 0) return c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path}`), 404);
    c.header("Allow", methods.join(", "));
    return c.json(errorBody("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; allowed: ${methods.join(", ")}`, { allow: methods }), 405);
  });

  registerProbeRoutes(app, service, opts.registry, opts.notReady);
  // The console (/ui): static files only, every datum it shows comes from /v1 below.
  registerConsoleRoutes(app);

  const receivedAt = guardV1(app, opts);

  registerOpenApiRoute(app);
  registerAgentRoutes(app, service);
  registerMessageRoutes(app, service, receivedAt);
  registerClusterRoutes(app, service);
  registerEventRoutes(app, service, opts.streamBuffer);
  registerTypeRoutes(app, service, opts.logger);
  if (opts.httpTools) registerToolRoutes(app, opts.httpTools, opts.logger);
  registerApprovalRoutes(app, service);
  registerDeadLetterRoutes(app, service);
  if (opts.mcp) registerMcpRoutes(app, opts.mcp, opts.logger);

  return app;
}

/**
 * The middleware of every /v1 route: the body limit, JSON bodies only, and
 * the bearer token (or, without one, same-origin requests only). Returns
 * when each request reached the API, before any middleware (COLONY_MESSAGE_TIMING).
 */
function guardV1(app: OpenAPIHono, opts: AdminApiOptions): WeakMap<Request, number> {
  const receivedAt = new WeakMap<Request, number>();
  if (messageTiming.enabled) {
    app.use("/v1/*", async (c, next) => {
      receivedAt.set(c.req.raw, performance.now());
      await next();
    });
  }
  const limit = limitBody({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => {
      // The rest of the body is never read, so this connection cannot carry another request: say so.
      c.header("Connection", "close");
      return c.json(errorBody("payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`, { limit: MAX_BODY_BYTES }), 413);
    },
  });
  const refusals = opts.adminToken ? [refuseNonJsonBody] : [refuseNonJsonBody, refuseCrossSite];
  // One middleware for the body limit and the header checks after it: each layer of Hono's chain is two more promises per request.
  app.use("/v1/*", (c, next) =>
    limit(c, async () => {
      for (const refuse of refusals) {
        const refused = refuse(c);
        if (refused) return void (c.res = refused);
      }
      await next();
    }),
  );
  if (opts.adminToken) app.use("/v1/*", requireBearer(opts.adminToken));
  return receivedAt;
}
