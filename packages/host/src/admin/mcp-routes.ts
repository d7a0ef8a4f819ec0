import type { Hono } from "hono";
import type { Logger } from "@colony/actors";
import { NotFoundError, ValidationError } from "@colony/actors";
import { type McpDeclaration, type McpServerRecord, isStdio, mcpDeclarationSchema, parseServerName } from "../mcp/declaration.ts";
import type { McpServerStatus } from "../mcp/connection.ts";
import type { McpToolSource } from "../mcp/source.ts";
import type { McpServerStore } from "../mcp/store.ts";
import { parseInput } from "./schemas.ts";

export interface McpRoutesOptions {
  source: McpToolSource;
  store: McpServerStore;
  /** Whether this host accepts stdio declarations (COLONY_MCP_ALLOW_STDIO=1). */
  allowStdio: boolean;
}

/** An MCP server as the API shows it: the declaration as given (secret references unresolved) and its state on this host. */
export interface McpServerView {
  name: string;
  declaration: McpDeclaration;
  updatedAt: string;
  /** Tools as agents see them (`<server>__<tool>`). */
  tools: string[];
  status: McpServerStatus | null;
}

/** PUT/GET/DELETE /v1/mcp…: operators declare MCP servers whose tools every host offers as `<server>__<tool>`. */
export function registerMcpRoutes(app: Hono, o: McpRoutesOptions, logger: Logger, jsonBody: (c: any) => Promise<unknown>): void {
  const view = (r: McpServerRecord): McpServerView => ({
    name: r.name,
    declaration: r.declaration,
    updatedAt: new Date(r.updatedAt).toISOString(),
    tools: o.source.names().filter((n) => n.startsWith(`${r.name}__`)).sort(),
    status: o.source.status(r.name) ?? null,
  });

  app.get("/v1/mcp", async (c) => c.json({ servers: (await o.store.list()).map(view) }));

  app.get("/v1/mcp/:server", async (c) => {
    const name = parseServerName(c.req.param("server"));
    const r = await o.store.get(name);
    if (!r) throw new NotFoundError(`no MCP server ${name}`);
    return c.json(view(r));
  });

  app.put("/v1/mcp/:server", async (c) => {
    const name = parseServerName(c.req.param("server"));
    const declaration = parseInput(mcpDeclarationSchema, await jsonBody(c), "body");
    if (isStdio(declaration) && !o.allowStdio) {
      throw new ValidationError("body: command: stdio MCP servers run a process on the host and are refused unless the host sets COLONY_MCP_ALLOW_STDIO=1; declare a Streamable HTTP {url} instead", {
        field: "command",
      });
    }
    const existed = (await o.store.get(name)) !== null;
    await o.store.put({ name, declaration, updatedAt: Date.now() });
    // This host connects before answering, so the reply shows whether it worked; the others hear the announcement.
    await o.source.sync();
    o.source.announce();
    logger.info({ server: name, transport: isStdio(declaration) ? "stdio" : "http" }, "MCP server declared");
    const stored = await o.store.get(name);
    if (!stored) throw new NotFoundError(`MCP server ${name} was deleted meanwhile`);
    return c.json(view(stored), existed ? 200 : 201);
  });

  app.delete("/v1/mcp/:server", async (c) => {
    const name = parseServerName(c.req.param("server"));
    if (!(await o.store.delete(name))) throw new NotFoundError(`no MCP server ${name}`);
    await o.source.sync();
    o.source.announce();
    logger.info({ server: name }, "MCP server removed");
    return c.body(null, 204);
  });
}
