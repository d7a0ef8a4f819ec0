import type { MiddlewareHandler } from "hono";
import { errorBody } from "./errors.ts";

const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/** True when the request carries (or announces) a body. */
function hasBody(headers: Headers): boolean {
  if (headers.has("transfer-encoding")) return true;
  const length = headers.get("content-length");
  return (length !== null && length !== "0") || headers.has("content-type");
}

/**
 * Bodies must be `application/json` (415 otherwise). A browser may send a
 * `text/plain` body cross-site without a CORS preflight; a JSON body forces
 * one, so a web page cannot drive the API by a simple form or fetch. A
 * request with no body at all (POST …/resume) passes.
 */
export function requireJsonBodies(): MiddlewareHandler {
  return async (c, next) => {
    if (!WITH_BODY.has(c.req.method) || !hasBody(c.req.raw.headers)) return next();
    const type = c.req.header("content-type") ?? "";
    const media = type.split(";")[0]!.trim().toLowerCase();
    if (media !== "application/json") {
      return c.json(
        errorBody("unsupported_media_type", `request bodies must be application/json; got ${JSON.stringify(type.slice(0, 100) || "none")}`, { field: "content-type" }),
        415,
      );
    }
    return next();
  };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Without an admin token nothing but the network guards the API, so a
 * request a browser made for another site (its Origin is neither this host
 * nor loopback) is refused with 403: a page on the web cannot reach a
 * token-less `colony dev` on 127.0.0.1 through its visitor's browser, and a
 * DNS-rebound name shows up as a foreign Origin. Clients that are not
 * browsers send no Origin and pass.
 */
export function sameOriginOnly(): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin === undefined) return next();
    let host: string | null = null;
    try {
      const u = new URL(origin);
      if (u.protocol === "http:" || u.protocol === "https:") host = u.host;
    } catch {
      // "null" (a sandboxed frame, file://) or garbage: foreign.
    }
    const own = c.req.header("host");
    if (host !== null && (host === own || LOOPBACK.test(host.replace(/:\d+$/, "")))) return next();
    return c.json(errorBody("forbidden", `cross-site request refused (Origin ${JSON.stringify(origin.slice(0, 100))}); set COLONY_ADMIN_TOKEN to use the API from other origins`), 403);
  };
}
