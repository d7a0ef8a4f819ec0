import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { parseAgentType } from "@colony/actors";
import type { HostService } from "../host.ts";
import { AgentList, AgentView, SpawnRequest } from "./components.ts";
import { BODY_ERRORS, E400, E404, E415, V1_ERRORS, agentOf, agentPath, err, json, jsonRequest, readJsonBody } from "./route-kit.ts";
import { listQuerySchema } from "./schemas.ts";

const spawn = createRoute({
  method: "post",
  path: "/v1/agents",
  operationId: "spawnAgent",
  summary: "Spawn an agent.",
  tags: ["agents"],
  middleware: [readJsonBody] as const,
  request: { body: jsonRequest(SpawnRequest) },
  responses: {
    201: { ...json(AgentView, "created"), headers: { Location: { description: "the agent's URL, /v1/agents/{type}/{key}", schema: { type: "string" } } } },
    ...BODY_ERRORS,
    409: err("already_exists: an agent with this id exists"),
    ...V1_ERRORS,
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/agents",
  operationId: "listAgents",
  summary: "List agents in id order, paginated with a cursor.",
  tags: ["agents"],
  request: { query: listQuerySchema },
  responses: { 200: json(AgentList, "one page"), 400: E400, ...V1_ERRORS },
});

const get = createRoute({
  method: "get",
  path: "/v1/agents/{type}/{key}",
  operationId: "getAgent",
  summary: "An agent's state (never waits for a running turn), bounded in size: the conversation is read page by page with GET …/messages.",
  tags: ["agents"],
  request: { params: agentPath },
  responses: { 200: json(AgentView, "the agent"), 400: E400, 404: E404, ...V1_ERRORS },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/agents/{type}/{key}",
  operationId: "deleteAgent",
  summary: "Stop and delete an agent; cascades to its workers.",
  tags: ["agents"],
  request: { params: agentPath },
  responses: { 204: { description: "deleted" }, 400: E400, 404: E404, ...V1_ERRORS },
});

const resume = createRoute({
  method: "post",
  path: "/v1/agents/{type}/{key}/resume",
  operationId: "resumeAgent",
  summary: "Close a suspended agent's circuit.",
  tags: ["agents"],
  request: { params: agentPath },
  responses: { 200: json(AgentView, "the agent, resumed"), 400: E400, 404: E404, 409: err("wrong_state: the agent is not suspended"), 415: E415, ...V1_ERRORS },
});

/** Spawn, list, read, delete and resume agents. */
export function registerAgentRoutes(app: OpenAPIHono, service: HostService): void {
  app.openapi(spawn, async (c) => {
    const body = c.req.valid("json");
    parseAgentType(body.type, "type");
    const view = await service.spawn(body);
    c.header("Location", `/v1/agents/${view.type}/${view.key}`);
    return c.json(view, 201);
  });

  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    if (q.type !== undefined) parseAgentType(q.type, "type");
    return c.json(await service.list(q), 200);
  });

  app.openapi(get, async (c) => c.json(await service.get(agentOf(c.req.valid("param"))), 200));

  app.openapi(remove, async (c) => {
    await service.delete(agentOf(c.req.valid("param")));
    return c.body(null, 204);
  });

  app.openapi(resume, async (c) => c.json(await service.resume(agentOf(c.req.valid("param"))), 200));
}
