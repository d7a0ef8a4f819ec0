import { type OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { componentSchemas } from "./components.ts";
import { V1_ERRORS } from "./route-kit.ts";

/**
 * The admin API as an OpenAPI 3.1 document, generated from the routes
 * themselves: each route module declares its operations with createRoute
 * (path, parameters, body and answers as zod schemas) and registers them with
 * app.openapi, which both validates requests with those schemas and records
 * the operation. The named schemas (components.ts) are converted by zod's
 * z.toJSONSchema. Served at GET /v1/openapi.json.
 */

type JsonObject = Record<string, unknown>;

const TAGS = [
  { name: "agents", description: "spawn, read, message and delete agents" },
  { name: "types", description: "agent types and their defaults" },
  { name: "tools", description: "HTTP tools declared through the API" },
  { name: "approvals", description: "tool calls waiting for a person" },
  { name: "cluster", description: "membership" },
  { name: "probes", description: "liveness, readiness, metrics (no token needed)" },
  { name: "meta", description: "this document" },
  { name: "console", description: "the built-in web console (no token needed for its files)" },
  { name: "mcp", description: "MCP servers whose tools agents can use" },
];

function build(app: OpenAPIHono): JsonObject {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Colony admin API",
      version: "1",
      description:
        "Every host serves all of it, for any agent. Errors are {error: {code, message, details?}}. When the host has COLONY_ADMIN_TOKEN, every /v1 route requires `Authorization: Bearer <token>`; /healthz, /readyz, /metrics and the console's files (/ui) stay open.",
    },
    servers: [{ url: "/" }],
    tags: TAGS,
    security: [{ bearer: [] }],
  });
  const { webhooks: _none, ...rest } = doc;
  return {
    ...rest,
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "COLONY_ADMIN_TOKEN" } },
      // zod's own converter, responses as output and requests as input, in place of zod-to-openapi's.
      schemas: componentSchemas(),
    },
  };
}

const documents = new WeakMap<OpenAPIHono, JsonObject>();

/** The OpenAPI 3.1 document of `app`'s routes (built once, on first use, when every route is registered; treat as read-only). */
export function openApiDocument(app: OpenAPIHono): JsonObject {
  let doc = documents.get(app);
  if (!doc) documents.set(app, (doc = build(app)));
  return doc;
}

const document = createRoute({
  method: "get",
  path: "/v1/openapi.json",
  operationId: "getOpenApi",
  summary: "This document.",
  tags: ["meta"],
  responses: { 200: { description: "the OpenAPI 3.1 document of the admin API", content: { "application/json": { schema: z.looseObject({}) } } }, ...V1_ERRORS },
});

/** GET /v1/openapi.json: the document of every route registered on `app` (under /v1, so the token applies). */
export function registerOpenApiRoute(app: OpenAPIHono): void {
  app.openapi(document, (c) => c.json(openApiDocument(app), 200));
}
