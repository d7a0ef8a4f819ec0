import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { AgentType as AgentTypeName, Logger } from "@colony/actors";
import type { HostService } from "../host.ts";
import { AgentType, AgentTypeList, TypeRequest } from "./components.ts";
import { BODY_ERRORS, E400, V1_ERRORS, err, json, jsonRequest, readJsonBody, typePath } from "./route-kit.ts";

const list = createRoute({
  method: "get",
  path: "/v1/types",
  operationId: "listTypes",
  summary: "Agent types with defaults: defined in code (defineAgent) or by operators (PUT /v1/types/{type}). Any valid type name can be spawned.",
  tags: ["types"],
  responses: { 200: json(AgentTypeList, "every type with defaults"), ...V1_ERRORS },
});

const get = createRoute({
  method: "get",
  path: "/v1/types/{type}",
  operationId: "getType",
  summary: "One agent type's defaults.",
  tags: ["types"],
  request: { params: typePath },
  responses: { 200: json(AgentType, "the type"), 400: E400, 404: err("not_found: the type has no defaults"), ...V1_ERRORS },
});

const put = createRoute({
  method: "put",
  path: "/v1/types/{type}",
  operationId: "putType",
  summary: "Store a type's defaults (replacing earlier ones), seen by every host. A spawn's config overrides them field by field; they override code defaults the same way.",
  tags: ["types"],
  middleware: [readJsonBody] as const,
  request: { params: typePath, body: jsonRequest(TypeRequest) },
  responses: { 200: json(AgentType, "stored"), ...BODY_ERRORS, ...V1_ERRORS },
});

/** Agent types and the defaults operators store for them. */
export function registerTypeRoutes(app: OpenAPIHono, service: HostService, logger: Logger): void {
  app.openapi(list, async (c) => c.json({ types: await service.agentTypes.list() }, 200));

  app.openapi(get, async (c) => c.json(await service.agentTypes.view(c.req.valid("param").type as AgentTypeName), 200));

  app.openapi(put, async (c) => {
    const type = c.req.valid("param").type as AgentTypeName;
    const view = await service.agentTypes.put(type, c.req.valid("json").config);
    logger.info({ type }, "agent type defaults stored");
    return c.json(view, 200);
  });
}
