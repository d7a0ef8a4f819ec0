import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { MessageId } from "@colony/actors";
import type { HostService } from "../host.ts";
import { DeadLetterPage, Replay } from "./components.ts";
import { E400, E404, E415, V1_ERRORS, agentOf, agentPath, err, json, tokenParam } from "./route-kit.ts";
import { deadLettersQuerySchema } from "./schemas.ts";

const letterPath = agentPath.extend({ id: tokenParam("id", "a dead letter's id (the dead-lettered message's id), from GET …/dead-letters") });

const list = createRoute({
  method: "get",
  path: "/v1/agents/{type}/{key}/dead-letters",
  operationId: "listDeadLetters",
  summary:
    "Messages given up, oldest first, paginated: each with the original message, the reason (model_failed after deadLetter.afterFailures attempts in a row, or a spent budget), attempts and times. At most 1,000 per agent; `dropped` counts older ones dropped.",
  tags: ["agents"],
  request: { params: agentPath, query: deadLettersQuerySchema },
  responses: { 200: json(DeadLetterPage, "one page of dead letters"), 400: E400, 404: E404, ...V1_ERRORS },
});

const replay = createRoute({
  method: "post",
  path: "/v1/agents/{type}/{key}/dead-letters/{id}/replay",
  operationId: "replayDeadLetter",
  summary:
    "Send a dead letter's original message again, as a new message with idempotency key replay:{id} (a retried replay enqueues it once), then remove the entry. The reply to the new message comes as to any other.",
  tags: ["agents"],
  request: { params: letterPath },
  responses: {
    202: json(Replay, "the message is stored durably and will run"),
    400: E400,
    404: err("not_found: no such agent, or no such dead letter (replayed or discarded already)"),
    409: err("wrong_state: the agent is suspended (resume it first)"),
    415: E415,
    ...V1_ERRORS,
  },
});

const discard = createRoute({
  method: "delete",
  path: "/v1/agents/{type}/{key}/dead-letters/{id}",
  operationId: "discardDeadLetter",
  summary: "Drop a dead letter for good.",
  tags: ["agents"],
  request: { params: letterPath },
  responses: { 204: { description: "discarded" }, 400: E400, 404: err("not_found: no such agent, or no such dead letter"), ...V1_ERRORS },
});

/** An agent's dead letters: list, replay, discard. */
export function registerDeadLetterRoutes(app: OpenAPIHono, service: HostService): void {
  app.openapi(list, async (c) => c.json(await service.deadLetters(agentOf(c.req.valid("param")), c.req.valid("query")), 200));

  app.openapi(replay, async (c) => {
    const p = c.req.valid("param");
    const out = await service.replayDeadLetter(agentOf(p), p.id as MessageId);
    return c.json({ ...out, status: "accepted" as const }, 202);
  });

  app.openapi(discard, async (c) => {
    const p = c.req.valid("param");
    await service.discardDeadLetter(agentOf(p), p.id as MessageId);
    return c.body(null, 204);
  });
}
