/**
 * How the host serves the console's files (no browser, no socket: the
 * host's fetch handler), and what those files may contain.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CONSOLE_CSP, CONSOLE_DIR } from "../../packages/host/src/admin/console-routes.ts";
import type { HostNode } from "../../packages/host/src/node.ts";
import { call, startTestHost } from "../../packages/host/src/testing/index.ts";

const EXPECTED_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};
const files = readdirSync(CONSOLE_DIR);
const scripts = files.filter((f) => f.endsWith(".js"));
const source = (f: string) => readFileSync(path.join(CONSOLE_DIR, f), "utf8");

let host: (HostNode & AsyncDisposable) | undefined;
afterEach(async () => {
  await host?.shutdown();
  host = undefined;
});

describe("the console's files", () => {
  it("are each served under /ui/ with their content type, the strict CSP and nosniff; /ui and /ui/ are the page", async () => {
    host = await startTestHost();
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const res = await host.app.request(`/ui/${f}`);
      expect(res.status, f).toBe(200);
      expect(res.headers.get("content-type"), f).toBe(EXPECTED_TYPES[path.extname(f)]);
      expect(res.headers.get("content-security-policy"), f).toBe(CONSOLE_CSP);
      expect(res.headers.get("x-content-type-options"), f).toBe("nosniff");
      expect(await res.text(), f).toBe(source(f));
    }
    for (const p of ["/ui", "/ui/"]) {
      const res = await host.app.request(p);
      expect(res.headers.get("content-type")).toBe(EXPECTED_TYPES[".html"]);
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
      expect(await res.text()).toBe(source("index.html"));
    }
    expect(CONSOLE_CSP).toMatch(/^default-src 'self';/);
    expect(CONSOLE_CSP).not.toContain("unsafe");
  });

  it("answers 404 for a file it does not have, a path outside its folder included", async () => {
    host = await startTestHost();
    for (const p of ["/ui/nope.js", "/ui/..%2Fsrc%2Fhost.ts", "/ui/%2E%2E%2Fpackage.json", "/ui/a/b.js"]) {
      const res = await call(host, "GET", p);
      expect(res.status, p).toBe(404);
      expect(res.body.error.code, p).toBe("not_found");
    }
  });

  it("needs no token (it carries no data) while every /v1 call does", async () => {
    host = await startTestHost({ config: { adminToken: "console-files-token-123" } });
    expect((await host.app.request("/ui")).status).toBe(200);
    expect((await host.app.request("/ui/api.js")).status).toBe(200);
    expect((await call(host, "GET", "/v1/hosts")).status).toBe(401);
    expect((await call(host, "GET", "/v1/hosts", undefined, { authorization: "Bearer console-files-token-123" })).status).toBe(200);
  });

  it("lets the page's own calls through the Origin guard of a token-less host, and refuses a foreign page's", async () => {
    host = await startTestHost();
    const own = new URL(host.url).host;
    const same = await call(host, "POST", "/v1/agents", { type: "assistant", key: "from-page" }, { origin: `http://${own}`, host: own });
    expect(same.status).toBe(201);
    const foreign = await call(host, "POST", "/v1/agents", { type: "assistant", key: "from-web" }, { origin: "https://evil.example", host: own });
    expect(foreign.status).toBe(403);
  });

  it("load only from this host, and build the page from data without parsing it as markup", () => {
    const html = source("index.html");
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(ref, `index.html refers to ${ref}`).toMatch(/^(\/ui\/[a-z-]+\.(js|css)|#\/[a-z]+|data:,)$/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script (the CSP would refuse it anyway)
    for (const f of scripts) {
      const js = source(f);
      for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) expect(js, `${f} uses ${sink}`).not.toContain(sink);
      expect(js, `${f} fetches an absolute URL`).not.toMatch(/fetch\(\s*["'`]https?:/);
      // Every module it imports is one of the console's own files.
      for (const [, spec] of js.matchAll(/^import [^;]*? from "([^"]+)";$/gm)) {
        expect(spec, `${f} imports ${spec}`).toMatch(/^\.\/[a-z-]+\.js$/);
        expect(files, `${f} imports ${spec}`).toContain(spec!.slice(2));
      }
    }
    expect(html).toContain('src="/ui/app.js"');
  });
});
