import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import type { Registry } from "prom-client";
import type { AgentId, Logger, MessageId, TraceQuery } from "@colony/actors";
import { ValidationError, agentId, messageTiming, parseAgentKey, parseAgentType, parseToken, serverTiming } from "@colony/actors";
import type { HostService } from "../host.ts";
import { allowedMethods } from "./allowed-methods.ts";
import { errorBody, toHttpError } from "./errors.ts";
import { openApiDocument } from "./openapi.ts";
import { type McpRoutesOptions, registerMcpRoutes } from "./mcp-routes.ts";
import { registerConsoleRoutes } from "./console-routes.ts";
import { requireJsonBodies, sameOriginOnly } from "./request-guards.ts";
import { requireBearer } from "@colony/directory";
import { BoundedEventBuffer } from "../observability/event-buffer.ts";
import type { HttpTools } from "../tools/http-tools.ts";
import { registerToolRoutes } from "./tool-routes.ts";
import { MAX_BODY_BYTES, deadLettersQuerySchema, eventsQuerySchema, traceQuerySchema, decisionBodySchema, listQuerySchema, messagesQuerySchema, parseInput, sendBodySchema, spawnBodySchema, typeBodySchema } from "./schemas.ts";

/** Comment lines sent on an idle event stream, so proxies keep it open. */
export const SSE_HEARTBEAT_MS = 15_000;

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
 * tests can call `app.request()` without opening a socket.
 */
export function createAdminApi(opts: AdminApiOptions): Hono {
  const { service } = opts;
  const app = new Hono();

  app.onError((err, c) => {
    const mapped = toHttpError(err);
    if (mapped.internal) opts.logger.error({ err: err.message, stack: err.stack, path: c.req.path }, "request failed");
    if (mapped.retryAfterMs !== undefined) c.header("Retry-After", String(Math.ceil(mapped.retryAfterMs / 1000)));
    return c.json(mapped.body, mapped.status as never);
  });
  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    if (methods.length === 0) return c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path}`), 404);
    c.header("Allow", methods.join(", "));
    return c.json(errorBody("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; allowed: ${methods.join(", ")}`, { allow: methods }), 405);
  });

  app.get("/healthz", (c) => c.json({ status: "ok", host: service.hostId }));
  app.get("/readyz", (c) => {
    if (service.isDraining) return c.json(errorBody("unavailable", "host is draining"), 503);
    const reason = opts.notReady();
    if (reason !== undefined) return c.json(errorBody("unavailable", reason), 503);
    return c.json({ status: "ready", host: service.hostId });
  });
  app.get("/metrics", async (c) => {
    c.header("Content-Type", opts.registry.contentType);
    return c.body(await opts.registry.metrics());
  });
  // The console (/ui): static files only, every datum it shows comes from /v1 below.
  registerConsoleRoutes(app);

  // COLONY_MESSAGE_TIMING: when the request reached the API, before any middleware.
  const receivedAt = new WeakMap<Request, number>();
  if (messageTiming.enabled) {
    app.use("/v1/*", async (c, next) => {
      receivedAt.set(c.req.raw, performance.now());
      await next();
    });
  }
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => {
        // The rest of the body is never read, so this connection cannot carry another request: say so.
        c.header("Connection", "close");
        return c.json(errorBody("payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`, { limit: MAX_BODY_BYTES }), 413);
      },
    }),
  );
  app.use("/v1/*", requireJsonBodies());
  if (!opts.adminToken) app.use("/v1/*", sameOriginOnly());
  if (opts.adminToken) app.use("/v1/*", requireBearer(opts.adminToken));

  // The OpenAPI 3.1 document of this API (admin/openapi.ts); under /v1, so the token applies.
  app.get("/v1/openapi.json", (c) => c.json(openApiDocument()));

  app.post("/v1/agents", async (c) => {
    const body = parseInput(spawnBodySchema, await jsonBody(c), "body");
    parseAgentType(body.type, "type");
    const view = await service.spawn(body);
    c.header("Location", `/v1/agents/${view.type}/${view.key}`);
    return c.json(view, 201);
  });

  app.get("/v1/agents", async (c) => {
    const q = parseInput(listQuerySchema, c.req.query(), "query");
    if (q.type !== undefined) parseAgentType(q.type, "type");
    return c.json(await service.list(q));
  });

  app.get("/v1/agents/:type/:key", async (c) => c.json(await service.get(idFrom(c))));

  app.get("/v1/agents/:type/:key/messages", async (c) => {
    const q = parseInput(messagesQuerySchema, c.req.query(), "query");
    return c.json(await service.messages(idFrom(c), q.cursor === undefined ? 0 : Number(q.cursor), q.limit));
  });

  app.delete("/v1/agents/:type/:key", async (c) => {
    await service.delete(idFrom(c));
    return c.body(null, 204);
  });

  app.post("/v1/agents/:type/:key/messages", async (c) => {
    const handlerAt = messageTiming.enabled ? performance.now() : 0;
    const id = idFrom(c);
    const body = parseInput(sendBodySchema, await jsonBody(c), "body");
    const traceparent = c.req.header("traceparent");
    const parsedAt = messageTiming.enabled ? performance.now() : 0;
    const out = await service.send(id, { ...body, untilPause: true, ...(traceparent ? { traceparent } : {}) });
    if (messageTiming.enabled) {
      messageTiming.mark(out.messageId, "http", receivedAt.get(c.req.raw) ?? handlerAt);
      messageTiming.mark(out.messageId, "handler", handlerAt);
      messageTiming.mark(out.messageId, "parsed", parsedAt);
      const stages = messageTiming.take(out.messageId);
      if (stages) c.header("Server-Timing", serverTiming(stages));
    }
    if (out.kind === "accepted") return c.json({ messageId: out.messageId, status: "accepted", duplicate: out.duplicate }, 202);
    if (out.kind === "awaiting_approval") return c.json({ messageId: out.messageId, status: "awaiting_approval", awaiting: out.awaiting, duplicate: out.duplicate }, 200);
    const r = out.result;
    return c.json(
      { messageId: out.messageId, status: r.status, reply: r.reply, usage: r.usage, duplicate: out.duplicate, ...(r.error ? { error: r.error } : {}), ...(r.deadLetter ? { deadLetter: r.deadLetter } : {}) },
      200,
    );
  });

  app.get("/v1/hosts", async (c) => c.json(await service.hosts()));
  app.get("/v1/cluster/stats", async (c) => c.json(await service.clusterStats()));

  app.get("/v1/agents/:type/:key/trace", async (c) => {
    const id = idFrom(c);
    const q = parseInput(traceQuerySchema, c.req.query(), "query");
    const query: TraceQuery = { limit: q.limit ?? 200 };
    if (q.turn !== undefined) query.turn = q.turn;
    if (q.since !== undefined) query.since = q.since;
    if (q.cursor !== undefined) query.after = q.cursor;
    return c.json(await service.trace(id, query));
  });

  app.get("/v1/agents/:type/:key/events", async (c) => {
    const id = idFrom(c);
    const q = parseInput(eventsQuerySchema, c.req.query(), "query");
    let wake: (() => void) | undefined;
    const buffer = new BoundedEventBuffer(opts.streamBuffer, () => wake?.());
    const sub = await service.follow(id, (rec) => buffer.push(rec));
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
        wake?.();
      });
      try {
        await stream.writeSSE({ event: "ready", data: JSON.stringify({ agent: id }) });
        const heartbeatMs = q.heartbeatMs ?? SSE_HEARTBEAT_MS;
        for (let ended = false; open && !ended; ) {
          if (buffer.isEmpty) {
            const beat = await new Promise<boolean>((resolve) => {
              const t = setTimeout(() => resolve(true), heartbeatMs);
              wake = () => {
                clearTimeout(t);
                resolve(false);
              };
            });
            wake = undefined;
            if (beat && open) await stream.write(": heartbeat\n\n");
          }
          for (const item of buffer.take()) {
            if (item.kind === "lagged") {
              await stream.writeSSE({ event: "lagged", data: JSON.stringify({ agent: id, missed: item.missed }) });
              continue;
            }
            await stream.writeSSE({ event: item.rec.event.kind, data: JSON.stringify(item.rec) });
            if (q.until === "turn_end" && item.rec.event.kind === "turn_finished") ended = true;
          }
          if (ended) await stream.writeSSE({ event: "end", data: JSON.stringify({ agent: id }) });
        }
      } finally {
        sub.unsubscribe();
      }
    });
  });

  app.get("/v1/types", async (c) => c.json({ types: await service.agentTypes.list() }));
  app.get("/v1/types/:type", async (c) => c.json(await service.agentTypes.view(parseAgentType(c.req.param("type")))));
  app.put("/v1/types/:type", async (c) => {
    const type = parseAgentType(c.req.param("type"));
    const body = parseInput(typeBodySchema, await jsonBody(c), "body");
    const view = await service.agentTypes.put(type, body.config);
    opts.logger.info({ type }, "agent type defaults stored");
    return c.json(view);
  });

  if (opts.httpTools) registerToolRoutes(app, opts.httpTools, opts.logger);

  app.get("/v1/approvals", async (c) => c.json({ approvals: await service.approvals() }));

  app.post("/v1/agents/:type/:key/approvals/:callId", async (c) => {
    const id = idFrom(c);
    const callId = parseToken<MessageId>(c.req.param("callId"), "callId");
    const body = parseInput(decisionBodySchema, await jsonBody(c), "body");
    await service.decide(id, callId, body.approve, body.reason);
    return c.json({ callId, approve: body.approve }, 200);
  });

  app.post("/v1/agents/:type/:key/resume", async (c) => c.json(await service.resume(idFrom(c))));

  app.get("/v1/agents/:type/:key/dead-letters", async (c) => {
    const q = parseInput(deadLettersQuerySchema, c.req.query(), "query");
    return c.json(await service.deadLetters(idFrom(c), q));
  });

  app.post("/v1/agents/:type/:key/dead-letters/:id/replay", async (c) => {
    const id = idFrom(c);
    const out = await service.replayDeadLetter(id, parseToken<MessageId>(c.req.param("id"), "id"));
    return c.json({ ...out, status: "accepted" }, 202);
  });

  app.delete("/v1/agents/:type/:key/dead-letters/:id", async (c) => {
    await service.discardDeadLetter(idFrom(c), parseToken<MessageId>(c.req.param("id"), "id"));
    return c.body(null, 204);
  });

  if (opts.mcp) registerMcpRoutes(app, opts.mcp, opts.logger, jsonBody);

  return app;
}

function idFrom(c: Context): AgentId {
  return agentId(parseAgentType(c.req.param("type"), "type"), parseAgentKey(c.req.param("key"), "key"));
}

export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw new ValidationError("body: a JSON object is required", { field: "body" });
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError("body: not valid JSON", { field: "body" });
  }
}
