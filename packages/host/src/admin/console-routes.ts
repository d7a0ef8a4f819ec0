import { readFileSync, readdirSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ErrorSchema } from "./components.ts";
import { errorBody } from "./errors.ts";
import { OPEN, text } from "./route-kit.ts";

/**
 * Where the console's files live: plain ES modules, HTML and CSS written by
 * hand, served as they are. No build step (the browser runs them directly)
 * and no dependency: `npm ci && npm start` and the image serve them as-is.
 */
export const CONSOLE_DIR = fileURLToPath(new URL("../../console/", import.meta.url));

/**
 * Nothing but this host: scripts, styles and data calls go to the origin
 * that served the page, and no inline script or style can run, so text an
 * agent wrote (conversation, tool arguments, memory) cannot become code even
 * if it were ever put into the page as markup.
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

interface ConsoleFile {
  body: Uint8Array;
  type: string;
}

/** Reads the console's files once (they are a few kilobytes) so that serving one never touches the disk. */
export function loadConsoleFiles(dir = CONSOLE_DIR): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type === undefined) continue;
    files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  if (!files.has("index.html")) throw new Error(`the console's index.html is missing from ${dir}`);
  return files;
}


const index = createRoute({
  method: "get",
  path: "/ui",
  operationId: "console",
  summary: "The console: a web page that shows and steers the cluster through this API (its data calls send the bearer token; the page itself holds no data).",
  tags: ["console"],
  ...OPEN,
  responses: { 200: text("text/html; charset=utf-8", "the console's page, with a strict Content-Security-Policy") },
});

const indexSlash = createRoute({
  ...index,
  path: "/ui/",
  operationId: "consoleSlash",
  summary: "The console's page, as /ui.",
  responses: { 200: text("text/html; charset=utf-8", "the console's page") },
});

const file = createRoute({
  method: "get",
  path: "/ui/{file}",
  operationId: "consoleFile",
  summary: "One of the console's files (its scripts and style sheet).",
  tags: ["console"],
  ...OPEN,
  request: { params: z.object({ file: z.string().openapi({ pattern: /^[a-z-]+\.(?:html|js|css)$/.source, param: { description: "a file of the console, e.g. app.js" } }) }) },
  responses: {
    200: text("text/javascript; charset=utf-8", "a script (style sheets are text/css)"),
    404: { description: "no such file", content: { "application/json": { schema: ErrorSchema } } },
  },
});

/**
 * Serves the console at `/ui` (its page) and `/ui/<file>`. These routes
 * carry no data and so need no token: the page asks for the token and sends
 * it, as `Authorization: Bearer`, with each call to /v1.
 */
export function registerConsoleRoutes(app: OpenAPIHono, files = loadConsoleFiles()): void {
  const send = (c: Context, name: string): Response => {
    const file = files.get(name);
    if (file === undefined) return c.json(errorBody("not_found", `the console has no file ${JSON.stringify(name.slice(0, 100))}`), 404);
    c.header("Content-Type", file.type);
    c.header("Content-Security-Policy", CONSOLE_CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cache-Control", "no-cache");
    return c.body(file.body as Uint8Array<ArrayBuffer>);
  };
  app.openapi(index, (c) => send(c, "index.html"));
  app.openapi(indexSlash, (c) => send(c, "index.html"));
  app.openapi(file, (c) => send(c, c.req.valid("param").file));
}
