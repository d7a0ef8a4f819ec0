import { z } from "zod";
import { ValidationError } from "@colony/actors";

/** A server's name: `<server>__<tool>` must still fit the Messages API's tool-name rule. */
export const MCP_SERVER_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** The Messages API's rule for tool names. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** Separates the server from the tool in the name agents see. */
export const MCP_SEPARATOR = "__";

const tier = z.enum(["auto", "approval", "deny"]);
const rateLimit = z.strictObject({
  perAgentPerMinute: z.number().int().min(1).max(1_000_000).optional(),
  perHostPerMinute: z.number().int().min(1).max(1_000_000).optional(),
});
const toolSettings = z.strictObject({
  permission: tier.optional(),
  rateLimit: rateLimit.optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
});
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, "must be an HTTP header name");

const common = {
  /** Tier of the server's tools unless `tools.<name>.permission` says otherwise. */
  permission: tier.default("auto"),
  /** Per-tool settings, keyed by the tool's name on the server. */
  tools: z.record(z.string().min(1).max(64), toolSettings).default({}),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  description: z.string().max(500).optional(),
};

const httpTransport = z.strictObject({
  url: z
    .string()
    .max(2_000)
    .refine((u) => URL.canParse(u) && ["http:", "https:"].includes(new URL(u).protocol), "must be an http(s) URL"),
  /** Sent on every request; values may hold `{{secret:NAME}}` references, resolved on each host, never stored resolved. */
  headers: z.record(headerName, z.string().max(4_000)).default({}),
  ...common,
});

const stdioTransport = z.strictObject({
  command: z.string().min(1).max(1_000),
  args: z.array(z.string().max(4_000)).max(100).default([]),
  /** Extra environment for the process; values may hold `{{secret:NAME}}` references. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"), z.string().max(4_000)).default({}),
  ...common,
});

/** What `PUT /v1/mcp/{server}` takes: a Streamable HTTP URL or (behind an opt-in) a stdio command. */
export const mcpDeclarationSchema = z.union([httpTransport, stdioTransport], { error: "give either {url} (Streamable HTTP) or {command, args} (stdio)" });
export type McpDeclarationInput = z.input<typeof mcpDeclarationSchema>;
export type McpDeclaration = z.output<typeof mcpDeclarationSchema>;

/** A declaration as stored (Redis, memory): unresolved secret references only. */
export const mcpServerRecordSchema = z.object({
  name: z.string().regex(MCP_SERVER_NAME),
  declaration: mcpDeclarationSchema,
  updatedAt: z.number(),
});
export type McpServerRecord = z.infer<typeof mcpServerRecordSchema>;

export function isStdio(d: McpDeclaration): d is Extract<McpDeclaration, { command: string }> {
  return "command" in d;
}

export function parseServerName(name: string): string {
  if (!MCP_SERVER_NAME.test(name)) {
    throw new ValidationError(`server: "${name}" must match ${MCP_SERVER_NAME.source} (so that <server>__<tool> fits 64 characters)`, { field: "server" });
  }
  return name;
}

/** The name agents see for `tool` on `server`, or undefined when it would break the Messages API's rule. */
export function exposedToolName(server: string, tool: string): string | undefined {
  const name = `${server}${MCP_SEPARATOR}${tool}`;
  return TOOL_NAME.test(name) ? name : undefined;
}

/** The server part of an exposed name, or undefined for a name that is not an MCP tool's. */
export function serverOf(exposed: string): string | undefined {
  const i = exposed.indexOf(MCP_SEPARATOR);
  if (i <= 0) return undefined;
  const server = exposed.slice(0, i);
  return MCP_SERVER_NAME.test(server) ? server : undefined;
}
