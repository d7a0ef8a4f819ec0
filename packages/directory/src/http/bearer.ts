import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

/**
 * The admin token check of every Colony process (COLONY_ADMIN_TOKEN): a
 * request passes only with `Authorization: Bearer <token>`. The comparison
 * takes the same time whatever the bytes; the length check leaks only the
 * length. A refusal is a 401 with `WWW-Authenticate` and the API's error body.
 */
export function requireBearer(token: string): MiddlewareHandler {
  const expected = Buffer.from(`Bearer ${token}`);
  return async (c, next) => {
    const given = Buffer.from(c.req.header("authorization") ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      c.header("WWW-Authenticate", 'Bearer realm="colony"');
      return c.json({ error: { code: "unauthorized", message: "missing or wrong bearer token (COLONY_ADMIN_TOKEN)" } }, 401);
    }
    await next();
  };
}
