import { type OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Logger } from "@colony/actors";
import { NotFoundError, ValidationError } from "@colony/actors";
import { type McpDeclaration as McpDeclarationValue, type McpServerRecord, MCP_SERVER_NAME, isStdio, parseServerName } from "../mcp/declaration.ts";
import type { McpServerStatus } from "../mcp/connection.ts";
import type { McpToolSource } from "../mcp/source.ts";
import type { McpServerStore } from "../mcp/store.ts";
import { McpDeclaration, McpServer, McpServerList } from "./components.ts";
import { BODY_ERRORS, E400, V1_ERRORS, err, json, jsonRequest, pathParam, readJsonBody } from "./route-kit.ts";

export interface McpRoutesOptions {
  source: McpToolSource;
  store: McpServerStore;
  /** Whether this host accepts stdio declarations (COLONY_MCP_ALLOW_STDIO=1). */
  allowStdio: boolean;
}

/** An MCP server as the API shows it: the declaration as given (secret references unresolved) and its state on this host. */
export interface McpServerView {
  name: string;
  declaration: McpDeclarationValue;
  updatedAt: string;
  /** Tools as agents see them (`<server>__<tool>`). */
  tools: string[];
  status: McpServerStatus | null;
}

const serverPath = z.object({ server: pathParam(MCP_SERVER_NAME, parseServerName, "MCP server name") });
const notFound = err("not_found: no such MCP server");

const list = createRoute({
  method: "get",
  path: "/v1/mcp",
  operationId: "listMcpServers",
  summary: "Declared MCP servers, each with its tools (<server>__<tool>) and its state on the host answering.",
  tags: ["mcp"],
  responses: { 200: json(McpServerList, "every declared server"), ...V1_ERRORS },
});

const get = createRoute({
  method: "get",
  path: "/v1/mcp/{server}",
  operationId: "getMcpServer",
  summary: "One MCP server: its declaration (secret references unresolved), tools and state on this host.",
  tags: ["mcp"],
  request: { params: serverPath },
  responses: { 200: json(McpServer, "the server"), 400: E400, 404: notFound, ...V1_ERRORS },
});

const put = createRoute({
  method: "put",
  path: "/v1/mcp/{server}",
  operationId: "putMcpServer",
  summary:
    "Declare (or replace) an MCP server, seen by every host: a Streamable HTTP {url} with optional headers ({{secret:NAME}} resolved on each host from COLONY_SECRET_<NAME> or COLONY_SECRETS_DIR), or a stdio {command, args} (refused unless the host sets COLONY_MCP_ALLOW_STDIO=1). Its tools become <server>__<tool>.",
  tags: ["mcp"],
  middleware: [readJsonBody] as const,
  request: { params: serverPath, body: jsonRequest(McpDeclaration) },
  responses: { 200: json(McpServer, "replaced"), 201: json(McpServer, "declared"), ...BODY_ERRORS, ...V1_ERRORS },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/mcp/{server}",
  operationId: "deleteMcpServer",
  summary: "Remove an MCP server: its tools disappear from every host.",
  tags: ["mcp"],
  request: { params: serverPath },
  responses: { 204: { description: "removed" }, 400: E400, 404: notFound, ...V1_ERRORS },
});

/** PUT/GET/DELETE /v1/mcp…: operators declare MCP servers whose tools every host offers as `<server>__<tool>`. */
export function registerMcpRoutes(app: OpenAPIHono, o: McpRoutesOptions, logger: Logger): void {
  const view = (r: McpServerRecord): McpServerView => ({
    name: r.name,
    declaration: r.declaration,
    updatedAt: new Date(r.updatedAt).toISOString(),
    tools: o.source.names().filter((n) => n.startsWith(`${r.name}__`)).sort(),
    status: o.source.status(r.name) ?? null,
  });

  app.openapi(list, async (c) => c.json({ servers: (await o.store.list()).map(view) }, 200));

  app.openapi(get, async (c) => {
    const name = c.req.valid("param").server;
    const r = await o.store.get(name);
    if (!r) throw new NotFoundError(`no MCP server ${name}`);
    return c.json(view(r), 200);
  });

  app.openapi(put, async (c) => {
    const name = c.req.valid("param").server;
    const declaration = c.req.valid("json");
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
    return existed ? c.json(view(stored), 200) : c.json(view(stored), 201);
  });

  app.openapi(remove, async (c) => {
    const name = c.req.valid("param").server;
    if (!(await o.store.delete(name))) throw new NotFoundError(`no MCP server ${name}`);
    await o.source.sync();
    o.source.announce();
    logger.info({ server: name }, "MCP server removed");
    return c.body(null, 204);
  });
}
