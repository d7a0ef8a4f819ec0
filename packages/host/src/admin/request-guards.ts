import type { Context } from "hono";
import { errorBody } from "./errors.ts";
import { headerOf } from "./incoming.ts";

const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/** True when the request carries (or announces) a body. */
function hasBody(c: Context): boolean {
  if (headerOf(c, "transfer-encoding") !== undefined) return true;
  const length = headerOf(c, "content-length");
  return (length !== undefined && length !== "0") || headerOf(c, "content-type") !== undefined;
}

/**
 * The 415 for a body that is not `application/json`. A browser may send a
 * `text/plain` body cross-site without a CORS preflight; a JSON body forces
 * one, so a web page cannot drive the API by a simple form or fetch. A
 * request with no body at all (POST …/resume) passes.
 */
export function refuseNonJsonBody(c: Context): Response | undefined {
  if (!WITH_BODY.has(c.req.method) || !hasBody(c)) return undefined;
  const type = headerOf(c, "content-type") ?? "";
  const media = type.split(";")[0]!.trim().toLowerCase();
  if (media === "application/json") return undefined;
  return c.json(errorBody("unsupported_media_type", `request bodies must be application/json; got ${JSON.stringify(type.slice(0, 100) || "none")}`, { field: "content-type" }), 415);
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The 403 for a browser's cross-site request (its Origin is neither this
 * host nor loopback), used when no admin token is set: then nothing but the
 * network guards the API, and with this refusal a page on the web cannot reach a
 * token-less `colony dev` on 127.0.0.1 through its visitor's browser, and a
 * DNS-rebound name shows up as a foreign Origin. Clients that are not
 * browsers send no Origin and pass.
 */
export function refuseCrossSite(c: Context): Response | undefined {
  const origin = headerOf(c, "origin");
  if (origin === undefined) return undefined;
  let host: string | null = null;
  try {
    const u = new URL(origin);
    if (u.protocol === "http:" || u.protocol === "https:") host = u.host;
  } catch {
    // "null" (a sandboxed frame, file://) or garbage: foreign.
  }
  const own = headerOf(c, "host");
  if (host !== null && (host === own || LOOPBACK.test(host.replace(/:\d+$/, "")))) return undefined;
  return c.json(errorBody("forbidden", `cross-site request refused (Origin ${JSON.stringify(origin.slice(0, 100))}); set COLONY_ADMIN_TOKEN to use the API from other origins`), 403);
}
