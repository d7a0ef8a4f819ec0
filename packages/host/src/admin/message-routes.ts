import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { TraceQuery } from "../observability/trace-store.ts";
import { messageTiming, serverTiming } from "@colony/actors";
import type { HostService } from "../host.ts";
import { MessagePage, SendAccepted, SendReply, SendRequest, Trace } from "./components.ts";
import { headerOf } from "./incoming.ts";
import { BODY_ERRORS, E400, E404, V1_ERRORS, agentOf, agentPath, err, json, jsonRequest, openapiHotRoute } from "./route-kit.ts";
import { messagesQuerySchema, traceQuerySchema } from "./schemas.ts";

const send = createRoute({
  method: "post",
  path: "/v1/agents/{type}/{key}/messages",
  operationId: "sendMessage",
  summary: "Send a message; with wait (default) answers with the turn's reply.",
  tags: ["agents"],
  request: { params: agentPath, body: jsonRequest(SendRequest) },
  responses: {
    200: json(SendReply, "the turn finished (completed or failed), or paused for a person's approval (awaiting_approval, with the call ids)"),
    202: json(SendAccepted, "stored durably; the turn runs (wait=false, or the wait timed out)"),
    ...BODY_ERRORS,
    404: E404,
    409: err("wrong_state: the agent is suspended (resume it first)"),
    ...V1_ERRORS,
  },
});

const page = createRoute({
  method: "get",
  path: "/v1/agents/{type}/{key}/messages",
  operationId: "getMessages",
  summary:
    "The agent's conversation, oldest first, paginated: live from the host running it, else from its last snapshot. A page holds at most `limit` messages (default 100) and about 64 KiB (always at least one message); follow nextCursor.",
  tags: ["agents"],
  request: { params: agentPath, query: messagesQuerySchema },
  responses: { 200: json(MessagePage, "one page of messages"), 400: E400, 404: E404, ...V1_ERRORS },
});

const trace = createRoute({
  method: "get",
  path: "/v1/agents/{type}/{key}/trace",
  operationId: "getTrace",
  summary:
    "The agent's execution trace: model requests and responses, tool calls with arguments, results, durations and outcomes, approvals, status changes; filter by turn and since, paginated.",
  tags: ["agents"],
  request: { params: agentPath, query: traceQuerySchema },
  responses: { 200: json(Trace, "one page of trace entries, oldest first"), 400: E400, 404: E404, ...V1_ERRORS },
});

/**
 * Send a message, read the conversation and the trace. `receivedAt` holds when
 * each request reached the API (COLONY_MESSAGE_TIMING), for Server-Timing.
 */
export function registerMessageRoutes(app: OpenAPIHono, service: HostService, receivedAt: WeakMap<Request, number>): void {
  openapiHotRoute(app, send, async (c, input) => {
    const handlerAt = messageTiming.enabled ? performance.now() : 0;
    const id = agentOf(input.params);
    const body = input.body;
    const traceparent = headerOf(c, "traceparent");
    const parsedAt = messageTiming.enabled ? performance.now() : 0;
    const out = await service.send(id, { ...body, untilPause: true, ...(traceparent ? { traceparent } : {}) });
    if (messageTiming.enabled) {
      messageTiming.mark(out.messageId, "http", receivedAt.get(c.req.raw) ?? handlerAt);
      messageTiming.mark(out.messageId, "handler", handlerAt);
      messageTiming.mark(out.messageId, "parsed", parsedAt);
      const stages = messageTiming.take(out.messageId);
      if (stages) c.header("Server-Timing", serverTiming(stages));
    }
    if (out.kind === "accepted") return c.json({ messageId: out.messageId, status: "accepted" as const, duplicate: out.duplicate }, 202);
    if (out.kind === "awaiting_approval") return c.json({ messageId: out.messageId, status: "awaiting_approval" as const, awaiting: out.awaiting, duplicate: out.duplicate }, 200);
    const r = out.result;
    return c.json(
      { messageId: out.messageId, status: r.status, reply: r.reply, usage: r.usage, duplicate: out.duplicate, ...(r.error ? { error: r.error } : {}), ...(r.deadLetter ? { deadLetter: r.deadLetter } : {}) },
      200,
    );
  });

  app.openapi(page, async (c) => {
    const q = c.req.valid("query");
    return c.json(await service.messages(agentOf(c.req.valid("param")), q.cursor === undefined ? 0 : Number(q.cursor), q.limit), 200);
  });

  app.openapi(trace, async (c) => {
    const id = agentOf(c.req.valid("param"));
    const q = c.req.valid("query");
    const query: TraceQuery = { limit: q.limit ?? 200 };
    if (q.turn !== undefined) query.turn = q.turn;
    if (q.since !== undefined) query.since = q.since;
    if (q.cursor !== undefined) query.after = q.cursor;
    return c.json(await service.trace(id, query), 200);
  });
}
