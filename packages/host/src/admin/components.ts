import { zodToOpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { z } from "@hono/zod-openapi";
import { AGENT_KEY_PATTERN, AGENT_TYPE_PATTERN, agentConfigSchema } from "@colony/actors";
import {
  agentListResponseSchema,
  agentSummarySchema,
  agentTypeListSchema,
  agentTypeViewSchema,
  agentViewSchema,
  approvalsResponseSchema,
  clusterStatsResponseSchema,
  deadLetterPageResponseSchema,
  decisionBodySchema,
  decisionResponseSchema,
  errorResponseSchema,
  healthResponseSchema,
  hostsResponseSchema,
  messagePageResponseSchema,
  readyResponseSchema,
  replayResponseSchema,
  resolvedConfigResponseSchema,
  sendAcceptedResponseSchema,
  sendBodySchema,
  sendReplyResponseSchema,
  spawnBodySchema,
  traceResponseSchema,
  typeBodySchema,
} from "./schemas.ts";
import { httpBodyTemplateSchema, httpToolBodySchema, httpToolDeclarationSchema } from "../tools/http-tool-declaration.ts";
import { mcpServerListSchema, mcpServerViewSchema } from "./mcp-schemas.ts";
import { mcpDeclarationSchema } from "../mcp/declaration.ts";

/**
 * The named schemas of the OpenAPI document (#/components/schemas/<name>).
 * A route declares its body or response with the schema exported here, so the
 * document refers to the component by name; the components themselves are
 * converted by zod's own z.toJSONSchema (componentSchemas below), responses as
 * output and requests as input, the way the routes parse and answer them.
 */

type JsonSchema = Record<string, unknown>;
type Io = "input" | "output";

interface Component {
  name: string;
  /** What the document shows: the schema the route validates with, or a stricter one the service applies after it. */
  documented: z.ZodType;
  io: Io[];
}

const COMPONENTS: Component[] = [];

/**
 * Names `schema` in the document. `documented` differs from `schema` only
 * where the route accepts more than the service behind it does (a spawn's
 * config is checked against the agent type's merged defaults, a tool
 * declaration by HttpTools after its name): it is then derived from `schema`
 * or is the very schema the service parses with.
 */
function named<T extends z.ZodType>(name: string, schema: T, io: Io | Io[], documented: z.ZodType = schema): T {
  COMPONENTS.push({ name, documented, io: Array.isArray(io) ? io : [io] });
  // The schema itself is marked (zod-to-openapi's metadata registry, what
  // `.openapi(name)` would set on a copy): wherever it appears, in a route or
  // nested in another named schema (the recursive HttpBodyTemplate), the
  // document refers to #/components/schemas/<name>.
  const meta = zodToOpenAPIRegistry.get(schema);
  zodToOpenAPIRegistry.add(schema, { ...meta, _internal: { ...meta?._internal, refId: name } });
  return schema;
}

// Answers.
export const ErrorSchema = named("Error", errorResponseSchema, "output");
export const AgentView = named("AgentView", agentViewSchema, "output");
named("ResolvedAgentConfig", resolvedConfigResponseSchema, "output");
named("AgentSummary", agentSummarySchema, "output");
export const AgentList = named("AgentList", agentListResponseSchema, "output");
export const MessagePage = named("MessagePage", messagePageResponseSchema, "output");
export const SendReply = named("SendReply", sendReplyResponseSchema, "output");
export const SendAccepted = named("SendAccepted", sendAcceptedResponseSchema, "output");
export const Approvals = named("Approvals", approvalsResponseSchema, "output");
export const AgentType = named("AgentType", agentTypeViewSchema, "output");
export const AgentTypeList = named("AgentTypeList", agentTypeListSchema, "output");
export const Trace = named("Trace", traceResponseSchema, "output");
export const Decision = named("Decision", decisionResponseSchema, "output");
export const Hosts = named("Hosts", hostsResponseSchema, "output");
export const ClusterStats = named("ClusterStats", clusterStatsResponseSchema, "output");
export const Health = named("Health", healthResponseSchema, "output");
export const Ready = named("Ready", readyResponseSchema, "output");
export const DeadLetterPage = named("DeadLetterPage", deadLetterPageResponseSchema, "output");
export const Replay = named("Replay", replayResponseSchema, "output");
export const HttpTool = named("HttpTool", httpToolDeclarationSchema, "output");
export const HttpToolList = named("HttpToolList", z.object({ tools: z.array(httpToolDeclarationSchema) }), "output");
/** Recursive (JSON with placeholders): named, so both tool schemas reference one definition. */
named("HttpBodyTemplate", httpBodyTemplateSchema, ["output", "input"]);
export const McpServer = named("McpServer", mcpServerViewSchema, "output");
export const McpServerList = named("McpServerList", mcpServerListSchema, "output");

// Requests.
/** The spawn body as the route parses it, with `config` documented by the schema the agent type then validates it with. */
export const SpawnRequest = named(
  "SpawnRequest",
  spawnBodySchema,
  "input",
  spawnBodySchema.extend({
    type: spawnBodySchema.shape.type.regex(AGENT_TYPE_PATTERN).describe("a registered agent type, e.g. assistant"),
    key: z.string().regex(AGENT_KEY_PATTERN).optional().describe("generated (16 characters) when left out"),
    config: agentConfigSchema.optional().describe("spawn-time config; unknown fields are rejected"),
  }),
);
export const SendRequest = named("SendRequest", sendBodySchema, "input");
export const DecisionRequest = named("DecisionRequest", decisionBodySchema, "input");
export const TypeRequest = named("TypeRequest", typeBodySchema, "input", typeBodySchema.extend({ config: agentConfigSchema.optional().describe("any field of a spawn config") }));
/** Any JSON at the route: HttpTools.put checks the name first (a built-in one is 409), then parses the body with this schema. */
export const HttpToolRequest = named("HttpToolRequest", z.unknown(), "input", httpToolBodySchema);
export const McpDeclaration = named("McpDeclaration", mcpDeclarationSchema, "input");

/** z.toJSONSchema over every named schema, cross-referenced through #/components/schemas. */
export function componentSchemas(): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const io of ["output", "input"] as const) {
    const registry = z.registry<{ id: string }>();
    for (const c of COMPONENTS) if (c.io.includes(io)) registry.add(c.documented, { id: c.name });
    const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: "any" });
    // The document's jsonSchemaDialect says 2020-12; components carry no $schema/$id of their own.
    for (const [id, { $schema: _s, $id: _i, ...rest }] of Object.entries(schemas as Record<string, JsonSchema>)) out[id] = rest;
  }
  return out;
}
