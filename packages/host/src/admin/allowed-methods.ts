import type { Hono } from "hono";

/**
 * The methods an app's routes answer for a path, so that a wrong method gets
 * 405 with `Allow` instead of 404 (RFC 9110 §15.5.6). Middleware (`use`,
 * method "ALL") does not count: it answers no path by itself.
 */
export function allowedMethods(app: Hono): (path: string) => string[] {
  let table: { method: string; pattern: RegExp }[] | undefined;
  return (path) => {
    // Built on first use, when every route is registered.
    table ??= app.routes.filter((r) => r.method !== "ALL").map((r) => ({ method: r.method, pattern: patternOf(r.path) }));
    const methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD"); // Hono answers HEAD with the GET route
    return [...methods].sort();
  };
}

function patternOf(path: string): RegExp {
  const source = path
    .split("/")
    .map((part) => (part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}/?$`);
}
