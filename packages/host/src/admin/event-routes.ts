import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { AgentId } from "@colony/actors";
import type { HostService } from "../host.ts";
import { BoundedEventBuffer } from "../observability/event-buffer.ts";
import { E400, E404, V1_ERRORS, agentOf, agentPath, text } from "./route-kit.ts";
import { eventsQuerySchema } from "./schemas.ts";

/** Comment lines sent on an idle event stream, so proxies keep it open. */
export const SSE_HEARTBEAT_MS = 15_000;

const events = createRoute({
  method: "get",
  path: "/v1/agents/{type}/{key}/events",
  operationId: "streamEvents",
  summary:
    "Server-sent events of the agent's live turns, from whichever host runs it: `ready` first, then one event per step (text_delta, tool_call, tool_result, status, turn_finished, …) with an AgentEventRecord as data; `: heartbeat` comments while idle; with until=turn_end, an `end` event after the next turn finishes. A client reading slower than the agent works loses events past a buffer of 1,000 per stream and is told so in place: a `lagged` event with data {agent, missed}.",
  tags: ["agents"],
  request: { params: agentPath, query: eventsQuerySchema },
  responses: { 200: text("text/event-stream", "the event stream"), 400: E400, 404: E404, ...V1_ERRORS },
});

/**
 * GET …/events: the agent's live events as server-sent events. A stream holds
 * `streamBuffer` events for a slow client before it drops and counts them.
 */
export function registerEventRoutes(app: OpenAPIHono, service: HostService, streamBuffer: number | undefined): void {
  app.openapi(events, async (c) => {
    const id = agentOf(c.req.valid("param"));
    const q = c.req.valid("query");
    let wake: (() => void) | undefined;
    const buffer = new BoundedEventBuffer(streamBuffer, () => wake?.());
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
          ended = await drain(buffer, id, q.until === "turn_end", (e) => stream.writeSSE(e));
          if (ended) await stream.writeSSE({ event: "end", data: JSON.stringify({ agent: id }) });
        }
      } finally {
        sub.unsubscribe();
      }
    });
  });
}

/** Writes what the buffer holds; true once a turn finished and the stream was asked to end there. */
async function drain(buffer: BoundedEventBuffer, id: AgentId, untilTurnEnd: boolean, write: (e: { event: string; data: string }) => Promise<void>): Promise<boolean> {
  let ended = false;
  for (const item of buffer.take()) {
    if (item.kind === "lagged") {
      await write({ event: "lagged", data: JSON.stringify({ agent: id, missed: item.missed }) });
      continue;
    }
    await write({ event: item.rec.event.kind, data: JSON.stringify(item.rec) });
    if (untilTurnEnd && item.rec.event.kind === "turn_finished") ended = true;
  }
  return ended;
}
