import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport as McpTransport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Logger, ToolOutput } from "@colony/actors";
import { errorMessage, untilAborted } from "@colony/actors";
import { type McpDeclaration, exposedToolName, isStdio } from "./declaration.ts";
import { resolveSecretsIn } from "./secrets.ts";
import type { SecretResolver } from "../tools/secrets.ts";

/** A tool as the server lists it. */
export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** How a server looks from this host (GET /v1/mcp). */
export interface McpServerStatus {
  transport: "http" | "stdio";
  connected: boolean;
  /** Tools the server listed, those skipped included. */
  tools: number;
  lastError: string | null;
  /** False when this host will never connect (a stdio server without the opt-in). */
  available: boolean;
  /** Tools not offered because `<server>__<tool>` would break the Messages API's tool names. */
  skipped: string[];
}

export interface McpConnectionOptions {
  name: string;
  declaration: McpDeclaration;
  /** Whether this host may start stdio servers (COLONY_MCP_ALLOW_STDIO=1). */
  allowStdio: boolean;
  logger: Logger;
  /** Called whenever the list of tools changed. */
  onTools: () => void;
  /** Bound on connecting and listing tools. Default 10 s. */
  connectTimeoutMs?: number;
  /** Reconnection backoff: first delay, doubling up to the max. Default 200 ms … 10 s. */
  backoff?: { initialMs: number; maxMs: number };
  /** Values behind `{{secret:NAME}}` in headers and stdio env. */
  secrets: SecretResolver;
}

const CLIENT_INFO = { name: "colony", version: "0.1.0" };
/** Request metadata key carrying the call's idempotency key (stable across retries and resumes). */
export const IDEMPOTENCY_META_KEY = "colony/idempotencyKey";

/**
 * One declared MCP server, as this host sees it: a client that connects in
 * the background, keeps the last tool list it got (so tools stay listed
 * while the server is down) and reconnects with backoff whenever the
 * transport reports an error. A call never waits for a dead server longer
 * than one connection attempt, and a connection lost mid-call ends the call
 * with an error at once instead of leaving it to the request timeout.
 */
export class McpConnection {
  tools: McpToolInfo[] = [];
  private client: Client | undefined;
  /** Aborted when the current connection is dropped: every call running on it ends. */
  private lost = new AbortController();
  private connecting: Promise<Client> | undefined;
  private lastError: string | null = null;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly unavailable: string | undefined;

  constructor(private readonly o: McpConnectionOptions) {
    if (isStdio(o.declaration) && !o.allowStdio) {
      this.unavailable = "stdio MCP servers are not enabled on this host (set COLONY_MCP_ALLOW_STDIO=1 to let it start processes)";
      this.lastError = this.unavailable;
    }
  }

  /** Starts connecting; resolves after the first attempt, whatever its outcome. */
  async start(): Promise<void> {
    if (this.unavailable) return;
    await this.connect().catch(() => undefined);
  }

  status(): McpServerStatus {
    return {
      transport: isStdio(this.o.declaration) ? "stdio" : "http",
      connected: this.client !== undefined,
      tools: this.tools.length,
      lastError: this.lastError,
      available: this.unavailable === undefined,
      skipped: this.tools.filter((t) => exposedToolName(this.o.name, t.name) === undefined).map((t) => t.name),
    };
  }

  /** Lists the tools again (connecting first if needed). */
  async refresh(): Promise<void> {
    if (this.unavailable) return;
    const client = await this.connect().catch(() => undefined);
    if (client) await this.list(client).catch((e) => this.drop(client, e));
  }

  /** Runs a tool; every failure is an error result for the model. */
  async call(tool: string, args: Record<string, unknown>, opts: { signal: AbortSignal; timeoutMs: number; idempotencyKey: string }, retried = false): Promise<ToolOutput> {
    if (this.unavailable) return { isError: true, content: `MCP server ${this.o.name} is unavailable: ${this.unavailable}` };
    let client: Client;
    try {
      client = await untilAborted(this.connect(), opts.signal);
    } catch (e) {
      return { isError: true, content: `MCP server ${this.o.name} is unavailable: ${errorMessage(e)}` };
    }
    const lost = this.lost.signal;
    try {
      const result = await client.callTool({ name: tool, arguments: args, _meta: { [IDEMPOTENCY_META_KEY]: opts.idempotencyKey } }, undefined, {
        signal: AbortSignal.any([opts.signal, lost]),
        // The registry's timeout (the signal) decides; the SDK's own is only a backstop.
        timeout: opts.timeoutMs + 1_000,
      });
      return { content: resultText(result as { content?: unknown; structuredContent?: unknown }), isError: result.isError === true };
    } catch (e) {
      const cause: unknown = lost.aborted ? lost.reason : e;
      // The server forgot our session (it restarted between two calls): it
      // never ran this call, so one retry on a fresh session is safe.
      if (!retried && !opts.signal.aborted && sessionGone(cause)) {
        this.drop(client, cause);
        return this.call(tool, args, opts, true);
      }
      if (lost.aborted) return { isError: true, content: `MCP server ${this.o.name}: connection lost during the call (${describe(cause)}); the call may or may not have run` };
      if (!opts.signal.aborted) this.drop(client, e);
      return { isError: true, content: `MCP server ${this.o.name}: ${errorMessage(e)}` };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.lost.abort(new Error("closed"));
    await client?.close().catch(() => undefined);
    const pending = this.connecting;
    if (pending) await pending.then((c) => c.close()).catch(() => undefined);
  }

  /** The connected client, or the connection attempt in flight, or a new one. */
  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.closed) return Promise.reject(new Error("closed"));
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<Client> {
    clearTimeout(this.retryTimer);
    const client = new Client(CLIENT_INFO);
    // While connecting, the first transport error is the reason worth
    // reporting (the SDK then closes and rejects with "Connection closed").
    let opening = true;
    let openError: unknown;
    try {
      const transport = this.transport();
      // Any transport error (the server went away, its session is gone) drops
      // this client: its calls end now and a fresh one reconnects.
      client.onerror = (e) => {
        if (opening) openError ??= e;
        else this.drop(client, e);
      };
      client.onclose = () => {
        if (!opening) this.drop(client, new Error("connection closed"));
      };
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        void this.list(client).catch((e) => this.drop(client, e));
      });
      const timeout = this.o.connectTimeoutMs ?? 10_000;
      await client.connect(transport, { timeout });
      opening = false;
      if (this.closed) throw new Error("closed");
      this.client = client;
      this.lost = new AbortController();
      await this.list(client);
      this.attempt = 0;
      this.lastError = null;
      this.o.logger.info({ server: this.o.name, tools: this.tools.length }, "MCP server connected");
      return client;
    } catch (e) {
      opening = false;
      this.drop(client, openError ?? e);
      throw new Error(this.lastError ?? errorMessage(e));
    }
  }

  private transport(): McpTransport {
    const d = this.o.declaration;
    if (isStdio(d)) {
      // The server's stderr is not ours to print (it may echo its secrets).
      return new StdioClientTransport({ command: d.command, args: d.args, env: { ...getDefaultEnvironment(), ...resolveSecretsIn(d.env, this.o.secrets) }, stderr: "ignore" });
    }
    return new StreamableHTTPClientTransport(new URL(d.url), {
      requestInit: { headers: resolveSecretsIn(d.headers, this.o.secrets) },
      // We reconnect the whole client ourselves; the transport's own retries of its event stream would only delay noticing.
      reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1_000, maxReconnectionDelay: 1_000, reconnectionDelayGrowFactor: 1 },
    });
  }

  private async list(client: Client): Promise<void> {
    const tools: McpToolInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.o.connectTimeoutMs ?? 10_000 });
      for (const t of page.tools) {
        tools.push({ name: t.name, inputSchema: t.inputSchema as Record<string, unknown>, ...(t.description ? { description: t.description } : t.title ? { description: t.title } : {}) });
      }
      cursor = page.nextCursor;
    } while (cursor);
    if (client !== this.client) return;
    this.tools = tools;
    this.o.onTools();
  }

  /** Forgets `client` (once) and schedules a reconnection with backoff. */
  private drop(client: Client, e: unknown): void {
    const message = describe(e);
    if (this.client === client) {
      this.client = undefined;
      this.lost.abort(e instanceof Error ? e : new Error(message));
      this.o.logger.warn({ server: this.o.name, err: message }, "MCP server connection lost; reconnecting");
    } else if (this.client !== undefined) {
      return; // an old client's late error
    }
    this.lastError = message;
    client.onerror = undefined;
    client.onclose = undefined;
    void client.close().catch(() => undefined);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.unavailable || this.retryTimer) return;
    const { initialMs, maxMs } = this.o.backoff ?? { initialMs: 200, maxMs: 10_000 };
    const delay = Math.min(maxMs, initialMs * 2 ** this.attempt++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.client && !this.closed) void this.connect().catch(() => undefined);
    }, delay);
    this.retryTimer.unref();
  }
}

/** A 404 on a request carrying a session id: the server no longer knows the session (Streamable HTTP spec). */
function sessionGone(e: unknown): boolean {
  return e instanceof StreamableHTTPError && e.code === 404;
}

/** An error's message with its cause's code (fetch's "fetch failed" says nothing without ECONNREFUSED). */
function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail = typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : undefined;
  return detail ? `${errorMessage(e)} (${detail})` : errorMessage(e);
}

/** An MCP result's content blocks as the text the model reads. */
export function resultText(result: { content?: unknown; structuredContent?: unknown }): string {
  const blocks = Array.isArray(result.content) ? (result.content as Array<Record<string, any>>) : [];
  const parts = blocks.map((b) => {
    switch (b.type) {
      case "text":
        return String(b.text ?? "");
      case "resource":
        return typeof b.resource?.text === "string" ? b.resource.text : `[resource ${b.resource?.uri ?? ""}]`;
      case "resource_link":
        return `[resource ${b.uri ?? ""}]`;
      case "image":
      case "audio":
        return `[${b.type} ${b.mimeType ?? ""}]`;
      default:
        return `[${String(b.type)}]`;
    }
  });
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join("\n");
}
