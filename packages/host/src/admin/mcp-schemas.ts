import { z } from "zod";
import { mcpDeclarationSchema } from "../mcp/declaration.ts";

/** An MCP server's state on the host that answers. */
export const mcpServerStatusSchema = z.strictObject({
  transport: z.enum(["http", "stdio"]),
  connected: z.boolean(),
  tools: z.number().int().describe("tools the server listed"),
  lastError: z.string().nullable(),
  available: z.boolean().describe("false when this host will never connect (a stdio server without COLONY_MCP_ALLOW_STDIO=1)"),
  skipped: z.array(z.string()).describe("tools not offered: <server>__<tool> would not fit ^[a-zA-Z0-9_-]{1,64}$"),
});

/** GET/PUT /v1/mcp/{server}. */
export const mcpServerViewSchema = z.strictObject({
  name: z.string(),
  declaration: mcpDeclarationSchema.describe("as declared: secret references stay unresolved"),
  updatedAt: z.string(),
  tools: z.array(z.string()).describe("the tools as agents list them: <server>__<tool>"),
  status: mcpServerStatusSchema.nullable(),
});

export const mcpServerListSchema = z.strictObject({ servers: z.array(mcpServerViewSchema) });
