import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { requireBearer } from "../../src/http/bearer.ts";

describe("requireBearer (every process's COLONY_ADMIN_TOKEN check)", () => {
  const app = new Hono();
  app.use("/v1/*", requireBearer("s3cret-token-0123456789"));
  app.get("/v1/x", (c) => c.json({ ok: true }));
  const get = (authorization?: string) => app.request("/v1/x", authorization ? { headers: { authorization } } : {});

  it("lets the right token through", async () => {
    expect((await get("Bearer s3cret-token-0123456789")).status).toBe(200);
  });

  it.each([undefined, "Bearer s3cret-token-012345678X", "Bearer s3cret", "s3cret-token-0123456789", "bearer s3cret-token-0123456789"])(
    "refuses %s with 401, WWW-Authenticate and the API's error body",
    async (authorization) => {
      const res = await get(authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="colony"');
      expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "missing or wrong bearer token (COLONY_ADMIN_TOKEN)" } });
    },
  );
});
