import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { incomingOf } from "./incoming.ts";

/** The whole body, or null once it grows past `maxSize` (the rest is left unread). */
function readUpTo(incoming: IncomingMessage, maxSize: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxSize) return void chunks.push(chunk);
      done();
      incoming.pause();
      resolve(null);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    const onClose = () => onError(new Error("the client closed the connection before its request body ended"));
    incoming.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}

/**
 * Hono's bodyLimit, without the web streams: on a Node server the body is
 * read straight from the IncomingMessage into a Buffer, and that text is
 * what the route's JSON validation parses. Hono's own bodyLimit asks for
 * `c.req.raw.body`, which makes @hono/node-server build a full undici
 * Request and a web ReadableStream over the socket for every /v1 request
 * (GETs included): about a third of the admin API's CPU per message,
 * measured. Same answers: a declared or read length past `maxSize` is
 * `onError`, before or while reading. Elsewhere (`app.request()` in tests)
 * it is Hono's bodyLimit.
 */
export function limitBody(options: { maxSize: number; onError: (c: Context) => Response | Promise<Response> }): MiddlewareHandler {
  const fallback = bodyLimit(options);
  return async (c, next) => {
    const incoming = incomingOf(c.env);
    // Not served by Node, or its body already read elsewhere (it would never end again): Hono's way.
    if (!incoming || incoming.readableEnded || incoming.readableFlowing) return fallback(c, next);
    // No body to read (as Hono's: a GET or HEAD request has none).
    if (incoming.method === "GET" || incoming.method === "HEAD") return next();
    const declared = incoming.headers["content-length"];
    if (incoming.headers["transfer-encoding"] === undefined && declared !== undefined && Number.parseInt(declared, 10) > options.maxSize) return options.onError(c);
    const body = await readUpTo(incoming, options.maxSize);
    if (body === null) return options.onError(c);
    // Whoever still asks for the web Request gets this Buffer as its body (@hono/node-server's `rawBody`), not the spent socket stream.
    Object.assign(incoming, { rawBody: body });
    // Hono's body cache holds promises (its typing says otherwise): c.req.text() and .json() read this text.
    Object.assign(c.req.bodyCache, { text: Promise.resolve(body.toString("utf8")) });
    return next();
  };
}
