/**
 * An MCP server built with the official SDK, for tests: Streamable HTTP with
 * sessions (as most real servers run), on a port it keeps across restarts.
 * Tools: `add {a, b}`, `slow {}` (runs until released or cancelled), `fail`.
 * It records every call with the request metadata it carried.
 */
import { randomUUID } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

export interface FixtureCall {
  tool: string;
  args: Record<string, unknown>;
  meta: Record<string, unknown> | undefined;
}

/** The fixture's tools on one McpServer (shared with the stdio fixture). */
export function buildFixtureServer(calls: FixtureCall[], hooks: { onSlow?: () => void; slowGate?: () => Promise<void>; onCancel?: () => void } = {}): McpServer {
  const server = new McpServer({ name: "calc-fixture", version: "1.0.0" }, { capabilities: { logging: {} } });
  server.registerTool("add", { description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }, extra) => {
    calls.push({ tool: "add", args: { a, b }, meta: extra._meta as Record<string, unknown> | undefined });
    return { content: [{ type: "text", text: String(a + b) }] };
  });
  server.registerTool("slow", { description: "Takes its time" }, async (extra) => {
    calls.push({ tool: "slow", args: {}, meta: extra._meta as Record<string, unknown> | undefined });
    // Something on the call's event stream first, so the client holds an open
    // stream (not a pending fetch) when a test cuts the connection.
    await extra.sendNotification({ method: "notifications/message", params: { level: "info", data: "slow started" } });
    hooks.onSlow?.();
    await Promise.race([
      hooks.slowGate?.() ?? new Promise(() => {}),
      new Promise<void>((r) =>
        extra.signal.addEventListener(
          "abort",
          () => {
            hooks.onCancel?.();
            r();
          },
          { once: true },
        ),
      ),
    ]);
    return { content: [{ type: "text", text: "slow done" }] };
  });
  server.registerTool("fail", { description: "Always fails" }, async () => ({ isError: true, content: [{ type: "text", text: "boom" }] }));
  return server;
}

export interface McpFixture {
  readonly url: string;
  readonly port: number;
  readonly calls: FixtureCall[];
  /** `slow` calls the client cancelled (notifications/cancelled). */
  readonly cancelled: number;
  /** Adds `mul {a, b}` (and a tool whose name is too long for Colony) on every live session: the server announces notifications/tools/list_changed. */
  addMul(): void;
  /** The Authorization header of every HTTP request received. */
  readonly authorizations: (string | undefined)[];
  /** Resolves when a `slow` call has started (a new promise after each). */
  slowStarted(): Promise<void>;
  /** Lets running `slow` calls finish. */
  releaseSlow(): void;
  /** Forgets every session without cutting a connection (a restart behind a proxy): the next request gets 404. */
  forgetSessions(): void;
  /** Stops as a crash would: every connection cut, every session forgotten. */
  stop(): Promise<void>;
  /** Starts again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startMcpFixture(opts: { port?: number } = {}): Promise<McpFixture> {
  const calls: FixtureCall[] = [];
  const authorizations: (string | undefined)[] = [];
  let sessions = new Map<string, StreamableHTTPServerTransport>();
  const servers = new Set<McpServer>();
  let cancelled = 0;
  let withMul = false;
  let slowSignal: (() => void) | undefined;
  let slowStarted = new Promise<void>((r) => (slowSignal = r));
  let release: (() => void) | undefined;
  let gate = new Promise<void>((r) => (release = r));
  const hooks = {
    onSlow: () => {
      slowSignal?.();
    },
    slowGate: () => gate,
    onCancel: () => void cancelled++,
  };
  const mul = (server: McpServer) => {
    // With any server name, <server>__<this> is longer than the Messages API's 64 characters.
    server.registerTool("summarise_every_single_thing_this_server_can_do_in_detail_x", { description: "Too long a name" }, async () => ({ content: [{ type: "text", text: "…" }] }));
    server.registerTool("mul", { description: "Multiplies two numbers", inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => ({ content: [{ type: "text", text: String(a * b) }] }));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    authorizations.push(req.headers.authorization);
    const sid = req.headers["mcp-session-id"];
    let body: unknown;
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    }
    let transport = typeof sid === "string" ? sessions.get(sid) : undefined;
    if (!transport) {
      if (typeof sid === "string" || req.method !== "POST" || !isInitializeRequest(body)) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }));
        return;
      }
      const own = sessions;
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void own.set(id, t) });
      const server = buildFixtureServer(calls, hooks);
      if (withMul) mul(server);
      servers.add(server);
      t.onclose = () => {
        servers.delete(server);
        if (t.sessionId) own.delete(t.sessionId);
      };
      await server.connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, body);
  }

  let server: Server | undefined;
  let port = opts.port ?? 0;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        handle(req, res).catch(() => {
          if (!res.headersSent) res.writeHead(500).end();
        });
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    const old = sessions;
    sessions = new Map();
    const closed = new Promise<void>((r) => s.close(() => r()));
    s.closeAllConnections();
    await closed;
    for (const t of old.values()) await t.close().catch(() => undefined);
  };
  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}/mcp`;
    },
    get port() {
      return port;
    },
    calls,
    get cancelled() {
      return cancelled;
    },
    addMul: () => {
      withMul = true;
      for (const s of servers) mul(s);
    },
    authorizations,
    slowStarted: () => slowStarted,
    releaseSlow: () => {
      release?.();
      gate = new Promise<void>((r) => (release = r));
      slowStarted = new Promise<void>((r) => (slowSignal = r));
    },
    forgetSessions: () => {
      sessions = new Map();
    },
    stop,
    start,
    close: async () => {
      release?.();
      await stop();
    },
  };
}
