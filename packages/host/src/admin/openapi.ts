import { z } from "zod";
import { AGENT_KEY_PATTERN, AGENT_TYPE_PATTERN, TOKEN_PATTERN, agentConfigSchema } from "@colony/actors";
import {
  MAX_BODY_BYTES,
  agentListResponseSchema,
  agentSummarySchema,
  agentViewSchema,
  approvalsResponseSchema,
  agentTypeListSchema,
  agentTypeViewSchema,
  typeBodySchema,
  decisionBodySchema,
  decisionResponseSchema,
  errorResponseSchema,
  healthResponseSchema,
  hostsResponseSchema,
  clusterStatsResponseSchema,
  listQuerySchema,
  messagePageResponseSchema,
  messagesQuerySchema,
  readyResponseSchema,
  resolvedConfigResponseSchema,
  sendAcceptedResponseSchema,
  sendBodySchema,
  sendReplyResponseSchema,
  spawnBodySchema,
  traceResponseSchema,
  traceQuerySchema,
  eventsQuerySchema,
  deadLetterPageResponseSchema,
  deadLettersQuerySchema,
  replayResponseSchema,
} from "./schemas.ts";
import { httpBodyTemplateSchema, httpToolBodySchema, httpToolDeclarationSchema } from "../tools/http-tool-declaration.ts";
import { mcpServerListSchema, mcpServerViewSchema } from "./mcp-schemas.ts";
import { MCP_SERVER_NAME, mcpDeclarationSchema } from "../mcp/declaration.ts";

/**
 * The admin API as an OpenAPI 3.1 document, generated from the zod schemas in
 * schemas.ts: the request schemas the routes parse with, and the response
 * schemas of what they answer. Served at GET /v1/openapi.json. A route added
 * to app.ts must be added to OPERATIONS below (test/openapi.test.ts parses
 * app.ts and fails on any route the document lacks).
 */

type JsonSchema = Record<string, unknown>;

/** Named schemas, emitted under #/components/schemas; responses are converted as output, requests as input. */
const RESPONSES = {
  Error: errorResponseSchema,
  AgentView: agentViewSchema,
  ResolvedAgentConfig: resolvedConfigResponseSchema,
  AgentSummary: agentSummarySchema,
  AgentList: agentListResponseSchema,
  MessagePage: messagePageResponseSchema,
  SendReply: sendReplyResponseSchema,
  SendAccepted: sendAcceptedResponseSchema,
  Approvals: approvalsResponseSchema,
  AgentType: agentTypeViewSchema,
  AgentTypeList: agentTypeListSchema,
  Trace: traceResponseSchema,
  Decision: decisionResponseSchema,
  Hosts: hostsResponseSchema,
  ClusterStats: clusterStatsResponseSchema,
  Health: healthResponseSchema,
  Ready: readyResponseSchema,
  DeadLetterPage: deadLetterPageResponseSchema,
  Replay: replayResponseSchema,
  HttpTool: httpToolDeclarationSchema,
  HttpToolList: z.object({ tools: z.array(httpToolDeclarationSchema) }),
  /** Recursive (JSON with placeholders): named, so both documents reference one definition. */
  HttpBodyTemplate: httpBodyTemplateSchema,
  McpServer: mcpServerViewSchema,
  McpServerList: mcpServerListSchema,
} as const;

/**
 * The spawn body as the route parses it (spawnBodySchema), with `config`
 * documented by the schema the agent type then validates it with.
 */
const spawnRequestSchema = spawnBodySchema.extend({
  type: spawnBodySchema.shape.type.regex(AGENT_TYPE_PATTERN).describe("a registered agent type, e.g. assistant"),
  key: z.string().regex(AGENT_KEY_PATTERN).optional().describe("generated (16 characters) when left out"),
  config: agentConfigSchema.optional().describe("spawn-time config; unknown fields are rejected"),
});

const typeRequestSchema = typeBodySchema.extend({ config: agentConfigSchema.optional().describe("any field of a spawn config") });

const REQUESTS = {
  SpawnRequest: spawnRequestSchema,
  SendRequest: sendBodySchema,
  DecisionRequest: decisionBodySchema,
  TypeRequest: typeRequestSchema,
  HttpToolRequest: httpToolBodySchema,
  HttpBodyTemplate: httpBodyTemplateSchema,
  McpDeclaration: mcpDeclarationSchema,
} as const;

type ResponseName = keyof typeof RESPONSES;
type RequestName = keyof typeof REQUESTS;

interface Reply {
  description: string;
  /** A JSON body of this component; or text for non-JSON answers; none for 204. */
  json?: ResponseName;
  text?: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
}

interface Operation {
  method: "get" | "post" | "put" | "delete";
  /** Hono's path, e.g. /v1/agents/:type/:key (converted to {type}). */
  path: string;
  operationId: string;
  summary: string;
  tag: "agents" | "types" | "tools" | "approvals" | "cluster" | "probes" | "meta" | "mcp" | "console";
  body?: RequestName;
  query?: z.ZodObject;
  responses: Record<number, Reply>;
  /** Probes and /metrics stay open even with COLONY_ADMIN_TOKEN. */
  open?: boolean;
}

const err = (description: string): Reply => ({ json: "Error", description });
const E400 = err("validation_failed: bad input; `details.field` names the field");
const E404 = err("not_found: no such agent (or route)");
const E413 = err(`payload_too_large: request body over ${MAX_BODY_BYTES} bytes`);
const E503 = err("unavailable: the host is draining or a dependency is down (with Retry-After)");
/** Answers every /v1 route can give. */
const V1_ERRORS: Record<number, Reply> = {
  401: err("unauthorized: missing or wrong bearer token (only when COLONY_ADMIN_TOKEN is set)"),
  403: err("forbidden: a browser's cross-site request (an Origin that is neither this host nor loopback), refused when no COLONY_ADMIN_TOKEN is set"),
  500: err("internal: an unexpected error; the host logs it"),
  503: E503,
};
const E415 = err("unsupported_media_type: a request body must be sent as Content-Type: application/json");
const BODY_ERRORS: Record<number, Reply> = { 400: E400, 413: E413, 415: E415 };

const OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/v1/agents/:type/:key/trace",
    operationId: "getTrace",
    summary: "The agent's execution trace: model requests and responses, tool calls with arguments, results, durations and outcomes, approvals, status changes; filter by turn and since, paginated.",
    tag: "agents",
    query: traceQuerySchema,
    responses: { 200: { json: "Trace", description: "one page of trace entries, oldest first" }, 400: E400, 404: E404 },
  },
  {
    method: "get",
    path: "/v1/agents/:type/:key/events",
    operationId: "streamEvents",
    summary:
      "Server-sent events of the agent's live turns, from whichever host runs it: `ready` first, then one event per step (text_delta, tool_call, tool_result, status, turn_finished, …) with an AgentEventRecord as data; `: heartbeat` comments while idle; with until=turn_end, an `end` event after the next turn finishes. A client reading slower than the agent works loses events past a buffer of 1,000 per stream and is told so in place: a `lagged` event with data {agent, missed}.",
    tag: "agents",
    query: eventsQuerySchema,
    responses: { 200: { text: "text/event-stream", description: "the event stream" }, 400: E400, 404: E404 },
  },
  {
    method: "get",
    path: "/healthz",
    operationId: "healthz",
    summary: "Liveness: the process serves HTTP.",
    tag: "probes",
    open: true,
    responses: { 200: { json: "Health", description: "alive" } },
  },
  {
    method: "get",
    path: "/readyz",
    operationId: "readyz",
    summary: "Readiness: 503 while starting or draining, or while NATS or Redis is unreachable.",
    tag: "probes",
    open: true,
    responses: { 200: { json: "Ready", description: "ready to serve" }, 503: err("unavailable: starting, draining, or NATS or Redis unreachable") },
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics in the text exposition format.",
    tag: "probes",
    open: true,
    responses: { 200: { text: "text/plain; version=0.0.4; charset=utf-8", description: "Prometheus text format" } },
  },
  {
    method: "get",
    path: "/ui",
    operationId: "console",
    summary: "The console: a web page that shows and steers the cluster through this API (its data calls send the bearer token; the page itself holds no data).",
    tag: "console",
    open: true,
    responses: { 200: { text: "text/html; charset=utf-8", description: "the console's page, with a strict Content-Security-Policy" } },
  },
  {
    method: "get",
    path: "/ui/",
    operationId: "consoleSlash",
    summary: "The console's page, as /ui.",
    tag: "console",
    open: true,
    responses: { 200: { text: "text/html; charset=utf-8", description: "the console's page" } },
  },
  {
    method: "get",
    path: "/ui/:file",
    operationId: "consoleFile",
    summary: "One of the console's files (its scripts and style sheet).",
    tag: "console",
    open: true,
    responses: { 200: { text: "text/javascript; charset=utf-8", description: "a script (style sheets are text/css)" }, 404: { json: "Error", description: "no such file" } },
  },
  {
    method: "get",
    path: "/v1/openapi.json",
    operationId: "getOpenApi",
    summary: "This document.",
    tag: "meta",
    responses: { 200: { text: "application/json", description: "the OpenAPI 3.1 document of the admin API" } },
  },
  {
    method: "post",
    path: "/v1/agents",
    operationId: "spawnAgent",
    summary: "Spawn an agent.",
    tag: "agents",
    body: "SpawnRequest",
    responses: {
      201: {
        json: "AgentView",
        description: "created",
        headers: { Location: { description: "the agent's URL, /v1/agents/{type}/{key}", schema: { type: "string" } } },
      },
      ...BODY_ERRORS,
      409: err("already_exists: an agent with this id exists"),
    },
  },
  {
    method: "get",
    path: "/v1/agents",
    operationId: "listAgents",
    summary: "List agents in id order, paginated with a cursor.",
    tag: "agents",
    query: listQuerySchema,
    responses: { 200: { json: "AgentList", description: "one page" }, 400: E400 },
  },
  {
    method: "get",
    path: "/v1/agents/:type/:key",
    operationId: "getAgent",
    summary: "An agent's state (never waits for a running turn), bounded in size: the conversation is read page by page with GET …/messages.",
    tag: "agents",
    responses: { 200: { json: "AgentView", description: "the agent" }, 400: E400, 404: E404 },
  },
  {
    method: "get",
    path: "/v1/agents/:type/:key/messages",
    operationId: "getMessages",
    summary:
      "The agent's conversation, oldest first, paginated: live from the host running it, else from its last snapshot. A page holds at most `limit` messages (default 100) and about 64 KiB (always at least one message); follow nextCursor.",
    tag: "agents",
    query: messagesQuerySchema,
    responses: { 200: { json: "MessagePage", description: "one page of messages" }, 400: E400, 404: E404 },
  },
  {
    method: "delete",
    path: "/v1/agents/:type/:key",
    operationId: "deleteAgent",
    summary: "Stop and delete an agent; cascades to its workers.",
    tag: "agents",
    responses: { 204: { description: "deleted" }, 400: E400, 404: E404 },
  },
  {
    method: "post",
    path: "/v1/agents/:type/:key/messages",
    operationId: "sendMessage",
    summary: "Send a message; with wait (default) answers with the turn's reply.",
    tag: "agents",
    body: "SendRequest",
    responses: {
      200: { json: "SendReply", description: "the turn finished (completed or failed), or paused for a person's approval (awaiting_approval, with the call ids)" },
      202: { json: "SendAccepted", description: "stored durably; the turn runs (wait=false, or the wait timed out)" },
      ...BODY_ERRORS,
      404: E404,
      409: err("wrong_state: the agent is suspended (resume it first)"),
    },
  },
  {
    method: "get",
    path: "/v1/hosts",
    operationId: "listHosts",
    summary: "Cluster membership: hosts, their load and agents.",
    tag: "cluster",
    responses: { 200: { json: "Hosts", description: "the membership" } },
  },
  {
    method: "get",
    path: "/v1/cluster/stats",
    operationId: "clusterStats",
    summary: "Every live host's running totals (turns, tokens, cost, failovers, turn latency buckets): the console's cluster charts take rates from two reads.",
    tag: "cluster",
    responses: { 200: { json: "ClusterStats", description: "one row per live host; a host that did not answer within 1 s has `error` instead of `stats`" } },
  },
  {
    method: "get",
    path: "/v1/types",
    operationId: "listTypes",
    summary: "Agent types with defaults: defined in code (defineAgent) or by operators (PUT /v1/types/{type}). Any valid type name can be spawned.",
    tag: "types",
    responses: { 200: { json: "AgentTypeList", description: "every type with defaults" } },
  },
  {
    method: "get",
    path: "/v1/types/:type",
    operationId: "getType",
    summary: "One agent type's defaults.",
    tag: "types",
    responses: { 200: { json: "AgentType", description: "the type" }, 400: E400, 404: err("not_found: the type has no defaults") },
  },
  {
    method: "put",
    path: "/v1/types/:type",
    operationId: "putType",
    summary: "Store a type's defaults (replacing earlier ones), seen by every host. A spawn's config overrides them field by field; they override code defaults the same way.",
    tag: "types",
    body: "TypeRequest",
    responses: { 200: { json: "AgentType", description: "stored" }, ...BODY_ERRORS },
  },
  {
    method: "get",
    path: "/v1/tools",
    operationId: "listTools",
    summary: "HTTP tools declared through the API, seen by every host; secrets appear as their {{secret:NAME}} references.",
    tag: "tools",
    responses: { 200: { json: "HttpToolList", description: "every declared tool, by name" } },
  },
  {
    method: "get",
    path: "/v1/tools/:name",
    operationId: "getTool",
    summary: "One declared HTTP tool.",
    tag: "tools",
    responses: { 200: { json: "HttpTool", description: "the declaration" }, 400: E400, 404: err("not_found: no declared tool of that name") },
  },
  {
    method: "put",
    path: "/v1/tools/:name",
    operationId: "putTool",
    summary:
      "Declare an HTTP tool (or replace one): inputSchema (JSON Schema, enforced before every call), an HTTP binding (URL template, query, headers, body, timeout, retries on 5xx and connection errors), a permission tier and a rate limit. Every host offers it at once; agents list it by name in config.tools. Every call carries Idempotency-Key = agent:message:tool-use id.",
    tag: "tools",
    body: "HttpToolRequest",
    responses: {
      200: { json: "HttpTool", description: "replaced" },
      201: { json: "HttpTool", description: "declared", headers: { Location: { description: "/v1/tools/{name}", schema: { type: "string" } } } },
      ...BODY_ERRORS,
      409: err("already_exists: the name is a tool built into every host (remember, recall, delegate)"),
    },
  },
  {
    method: "delete",
    path: "/v1/tools/:name",
    operationId: "deleteTool",
    summary: "Delete a declared tool; agents that list it no longer get it (a call still made answers as an error result).",
    tag: "tools",
    responses: { 204: { description: "deleted" }, 400: E400, 404: err("not_found: no declared tool of that name") },
  },
  {
    method: "get",
    path: "/v1/approvals",
    operationId: "listApprovals",
    summary: "Tool calls waiting for a person, cluster-wide, oldest first.",
    tag: "approvals",
    responses: { 200: { json: "Approvals", description: "pending approvals" } },
  },
  {
    method: "post",
    path: "/v1/agents/:type/:key/approvals/:callId",
    operationId: "decideApproval",
    summary: "Approve or deny a tool call waiting for a person.",
    tag: "approvals",
    body: "DecisionRequest",
    responses: { 200: { json: "Decision", description: "decided; the turn resumes once no call waits" }, ...BODY_ERRORS, 404: err("not_found: no such agent, or no such call waits") },
  },
  {
    method: "post",
    path: "/v1/agents/:type/:key/resume",
    operationId: "resumeAgent",
    summary: "Close a suspended agent's circuit.",
    tag: "agents",
    responses: { 200: { json: "AgentView", description: "the agent, resumed" }, 400: E400, 404: E404, 409: err("wrong_state: the agent is not suspended"), 415: E415 },
  },
  {
    method: "get",
    path: "/v1/agents/:type/:key/dead-letters",
    operationId: "listDeadLetters",
    summary:
      "Messages given up, oldest first, paginated: each with the original message, the reason (model_failed after deadLetter.afterFailures attempts in a row, or a spent budget), attempts and times. At most 1,000 per agent; `dropped` counts older ones dropped.",
    tag: "agents",
    query: deadLettersQuerySchema,
    responses: { 200: { json: "DeadLetterPage", description: "one page of dead letters" }, 400: E400, 404: E404 },
  },
  {
    method: "post",
    path: "/v1/agents/:type/:key/dead-letters/:id/replay",
    operationId: "replayDeadLetter",
    summary:
      "Send a dead letter's original message again, as a new message with idempotency key replay:{id} (a retried replay enqueues it once), then remove the entry. The reply to the new message comes as to any other.",
    tag: "agents",
    responses: {
      202: { json: "Replay", description: "the message is stored durably and will run" },
      400: E400,
      404: err("not_found: no such agent, or no such dead letter (replayed or discarded already)"),
      409: err("wrong_state: the agent is suspended (resume it first)"),
      415: E415,
    },
  },
  {
    method: "delete",
    path: "/v1/agents/:type/:key/dead-letters/:id",
    operationId: "discardDeadLetter",
    summary: "Drop a dead letter for good.",
    tag: "agents",
    responses: { 204: { description: "discarded" }, 400: E400, 404: err("not_found: no such agent, or no such dead letter") },
  },
  ...mcpOperations(),
];

/** /v1/mcp (routes in admin/mcp-routes.ts). */
function mcpOperations(): Operation[] {
  const notFound = err("not_found: no such MCP server");
  return [
    {
      method: "get",
      path: "/v1/mcp",
      operationId: "listMcpServers",
      summary: "Declared MCP servers, each with its tools (<server>__<tool>) and its state on the host answering.",
      tag: "mcp",
      responses: { 200: { json: "McpServerList", description: "every declared server" } },
    },
    {
      method: "get",
      path: "/v1/mcp/:server",
      operationId: "getMcpServer",
      summary: "One MCP server: its declaration (secret references unresolved), tools and state on this host.",
      tag: "mcp",
      responses: { 200: { json: "McpServer", description: "the server" }, 400: E400, 404: notFound },
    },
    {
      method: "put",
      path: "/v1/mcp/:server",
      operationId: "putMcpServer",
      summary:
        "Declare (or replace) an MCP server, seen by every host: a Streamable HTTP {url} with optional headers ({{secret:NAME}} resolved on each host from COLONY_SECRET_<NAME> or COLONY_SECRETS_DIR), or a stdio {command, args} (refused unless the host sets COLONY_MCP_ALLOW_STDIO=1). Its tools become <server>__<tool>.",
      tag: "mcp",
      body: "McpDeclaration",
      responses: { 200: { json: "McpServer", description: "replaced" }, 201: { json: "McpServer", description: "declared" }, ...BODY_ERRORS },
    },
    {
      method: "delete",
      path: "/v1/mcp/:server",
      operationId: "deleteMcpServer",
      summary: "Remove an MCP server: its tools disappear from every host.",
      tag: "mcp",
      responses: { 204: { description: "removed" }, 400: E400, 404: notFound },
    },
  ];
}

const PATH_PARAMS: Record<string, { description: string; pattern: RegExp }> = {
  type: { description: "agent type", pattern: AGENT_TYPE_PATTERN },
  key: { description: "agent key", pattern: AGENT_KEY_PATTERN },
  callId: { description: "the tool call's id, from GET /v1/approvals", pattern: TOKEN_PATTERN },
  id: { description: "a dead letter's id (the dead-lettered message's id), from GET …/dead-letters", pattern: TOKEN_PATTERN },
  server: { description: "MCP server name", pattern: MCP_SERVER_NAME },
  file: { description: "a file of the console, e.g. app.js", pattern: /^[a-z-]+\.(?:html|js|css)$/ },
};

/** z.toJSONSchema over a registry of named schemas, cross-referenced through #/components/schemas. */
function components(named: Record<string, z.ZodType>, io: "input" | "output"): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: "any" }).schemas;
  // The document's jsonSchemaDialect says 2020-12; components carry no $schema/$id of their own.
  return Object.fromEntries(Object.entries(out).map(([id, s]) => [id, strip(s as JsonSchema)]));
}

function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function operationObject(op: Operation): JsonSchema {
  const pathParams = [...op.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
  const parameters: JsonSchema[] = pathParams.map((name) => ({
    name,
    in: "path",
    required: true,
    description: PATH_PARAMS[name]?.description ?? name,
    schema: { type: "string", pattern: (PATH_PARAMS[name]?.pattern ?? TOKEN_PATTERN).source },
  }));
  if (op.query) {
    const q = strip(z.toJSONSchema(op.query, { io: "input" }) as JsonSchema) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      parameters.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema });
    }
  }
  const responses: Record<string, JsonSchema> = {};
  const all = op.open ? op.responses : { ...V1_ERRORS, ...op.responses };
  for (const [status, r] of Object.entries(all)) {
    const response: JsonSchema = { description: r.description };
    if (r.json) response.content = { "application/json": { schema: ref(r.json) } };
    else if (r.text) response.content = { [r.text]: { schema: r.text === "application/json" ? { type: "object" } : { type: "string" } } };
    if (r.headers) response.headers = r.headers;
    responses[status] = response;
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    tags: [op.tag],
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: ref(op.body) } } } } : {}),
    responses,
    ...(op.open ? { security: [] } : {}),
  };
}

/** Hono's `/v1/agents/:type/:key` as OpenAPI's `/v1/agents/{type}/{key}`. */
export const toOpenApiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z]+)/g, "{$1}");

function build(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of OPERATIONS) (paths[toOpenApiPath(op.path)] ??= {})[op.method] = operationObject(op);
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Colony admin API",
      version: "1",
      description:
        "Every host serves all of it, for any agent. Errors are {error: {code, message, details?}}. When the host has COLONY_ADMIN_TOKEN, every /v1 route requires `Authorization: Bearer <token>`; /healthz, /readyz, /metrics and the console's files (/ui) stay open.",
    },
    servers: [{ url: "/" }],
    tags: [
      { name: "agents", description: "spawn, read, message and delete agents" },
      { name: "types", description: "agent types and their defaults" },
      { name: "tools", description: "HTTP tools declared through the API" },
      { name: "approvals", description: "tool calls waiting for a person" },
      { name: "cluster", description: "membership" },
      { name: "probes", description: "liveness, readiness, metrics (no token needed)" },
      { name: "meta", description: "this document" },
      { name: "console", description: "the built-in web console (no token needed for its files)" },
      { name: "mcp", description: "MCP servers whose tools agents can use" },
    ],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "COLONY_ADMIN_TOKEN" } },
      schemas: { ...components(RESPONSES, "output"), ...components(REQUESTS, "input") },
    },
  };
}

let cached: JsonSchema | undefined;

/** The OpenAPI 3.1 document of the admin API (built once, then shared; treat as read-only). */
export function openApiDocument(): JsonSchema {
  return (cached ??= build());
}
