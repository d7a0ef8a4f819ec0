import { IncomingMessage } from "node:http";
import type { Context } from "hono";

/** The Node request behind a Hono request served by @hono/node-server (its `c.env.incoming`), if there is one. */
export function incomingOf(env: unknown): IncomingMessage | undefined {
  if (typeof env !== "object" || env === null || !("incoming" in env)) return undefined;
  return env.incoming instanceof IncomingMessage ? env.incoming : undefined;
}

/**
 * A request header (`name` in lower case), read from Node's parsed headers
 * when the request came through a Node server: `c.req.header()` makes
 * @hono/node-server build an undici Headers object from the raw headers
 * (~25 µs a request, measured on the message route), and on the hot routes
 * nothing else needs one. Repeated headers come joined as Node joins them.
 */
export function headerOf(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c.env);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
