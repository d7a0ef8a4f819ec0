import { type OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Logger } from "@colony/actors";
import { TOOL_NAME_PATTERN } from "@colony/actors";
import type { HttpTools } from "../tools/http-tools.ts";
import { HttpTool, HttpToolList, HttpToolRequest } from "./components.ts";
import { BODY_ERRORS, E400, V1_ERRORS, err, json, jsonRequest, readJsonBody } from "./route-kit.ts";

/** HttpTools checks the name (before the body, so that a built-in name is 409 whatever the body). */
const toolPath = z.object({ name: z.string().openapi({ pattern: TOOL_NAME_PATTERN.source, param: { description: "tool name" } }) });
const noSuchTool = err("not_found: no declared tool of that name");

const list = createRoute({
  method: "get",
  path: "/v1/tools",
  operationId: "listTools",
  summary: "HTTP tools declared through the API, seen by every host; secrets appear as their {{secret:NAME}} references.",
  tags: ["tools"],
  responses: { 200: json(HttpToolList, "every declared tool, by name"), ...V1_ERRORS },
});

const get = createRoute({
  method: "get",
  path: "/v1/tools/{name}",
  operationId: "getTool",
  summary: "One declared HTTP tool.",
  tags: ["tools"],
  request: { params: toolPath },
  responses: { 200: json(HttpTool, "the declaration"), 400: E400, 404: noSuchTool, ...V1_ERRORS },
});

const put = createRoute({
  method: "put",
  path: "/v1/tools/{name}",
  operationId: "putTool",
  summary:
    "Declare an HTTP tool (or replace one): inputSchema (JSON Schema, enforced before every call), an HTTP binding (URL template, query, headers, body, timeout, retries on 5xx and connection errors), a permission tier and a rate limit. Every host offers it at once; agents list it by name in config.tools. Every call carries Idempotency-Key = agent:message:tool-use id.",
  tags: ["tools"],
  middleware: [readJsonBody] as const,
  request: { params: toolPath, body: jsonRequest(HttpToolRequest) },
  responses: {
    200: json(HttpTool, "replaced"),
    201: { ...json(HttpTool, "declared"), headers: { Location: { description: "/v1/tools/{name}", schema: { type: "string" } } } },
    ...BODY_ERRORS,
    409: err("already_exists: the name is a tool built into every host (remember, recall, delegate)"),
    ...V1_ERRORS,
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/tools/{name}",
  operationId: "deleteTool",
  summary: "Delete a declared tool; agents that list it no longer get it (a call still made answers as an error result).",
  tags: ["tools"],
  request: { params: toolPath },
  responses: { 204: { description: "deleted" }, 400: E400, 404: noSuchTool, ...V1_ERRORS },
});

/** /v1/tools: HTTP tools declared through the API (see tools/http-tools.ts). */
export function registerToolRoutes(app: OpenAPIHono, tools: HttpTools, logger: Logger): void {
  app.openapi(list, async (c) => c.json({ tools: await tools.list() }, 200));
  app.openapi(get, async (c) => c.json(await tools.get(c.req.valid("param").name), 200));
  app.openapi(put, async (c) => {
    const { created, tool } = await tools.put(c.req.valid("param").name, c.req.valid("json"));
    logger.info({ tool: tool.name, method: tool.http.method, created }, "HTTP tool declared");
    if (created) c.header("Location", `/v1/tools/${tool.name}`);
    return created ? c.json(tool, 201) : c.json(tool, 200);
  });
  app.openapi(remove, async (c) => {
    const { name } = c.req.valid("param");
    await tools.delete(name);
    logger.info({ tool: name }, "HTTP tool deleted");
    return c.body(null, 204);
  });
}
