import type { Hono } from "hono";
import type { Logger } from "@colony/actors";
import type { HttpTools } from "../tools/http-tools.ts";
import { jsonBody } from "./app.ts";

/** /v1/tools: HTTP tools declared through the API (see tools/http-tools.ts). */
export function registerToolRoutes(app: Hono, tools: HttpTools, logger: Logger): void {
  app.get("/v1/tools", async (c) => c.json({ tools: await tools.list() }));
  app.get("/v1/tools/:name", async (c) => c.json(await tools.get(c.req.param("name"))));
  app.put("/v1/tools/:name", async (c) => {
    const { created, tool } = await tools.put(c.req.param("name"), await jsonBody(c));
    logger.info({ tool: tool.name, method: tool.http.method, created }, "HTTP tool declared");
    if (created) c.header("Location", `/v1/tools/${tool.name}`);
    return c.json(tool, created ? 201 : 200);
  });
  app.delete("/v1/tools/:name", async (c) => {
    await tools.delete(c.req.param("name"));
    logger.info({ tool: c.req.param("name") }, "HTTP tool deleted");
    return c.body(null, 204);
  });
}
