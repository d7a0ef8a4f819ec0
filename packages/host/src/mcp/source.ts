import { z } from "zod";
import type { Logger, Subscription, ToolDefinition, ToolSource, Transport } from "@colony/actors";
import { errorMessage, newMessageId } from "@colony/actors";
import { type McpServerRecord, exposedToolName } from "./declaration.ts";
import { type McpServerStatus, McpConnection } from "./connection.ts";
import type { McpServerStore } from "./store.ts";
import type { SecretResolver } from "../tools/secrets.ts";

/** Where a PUT or DELETE of an MCP server is announced to every host. */
export const MCP_CHANGED_SUBJECT = "colony.mcp";
const MCP_CHANGED_EVENT = "mcp.changed";
/** Longest a spawn naming an unknown tool waits for the servers to be re-listed. */
const REFRESH_WAIT_MS = 3_000;

export interface McpToolSourceOptions {
  store: McpServerStore;
  logger: Logger;
  hostId: string;
  /** Whether this host may start stdio servers (COLONY_MCP_ALLOW_STDIO=1). */
  allowStdio: boolean;
  /** Announcements of changes to every host; without it, only the periodic refresh. */
  transport?: Transport;
  /** Fallback re-read of the declarations, in case an announcement was missed. Default 30 s. */
  refreshMs?: number;
  connectTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Values behind `{{secret:NAME}}` (the host's, as for HTTP tools). */
  secrets: SecretResolver;
}

interface Entry {
  record: McpServerRecord;
  connection: McpConnection;
}

/**
 * The tools of every declared MCP server, as `<server>__<tool>`, for the
 * ToolRegistry. Keeps one connection per server and an in-memory map of the
 * tools they listed, rebuilt whenever a server's list changes; lookups on
 * the turn's path never wait on the network.
 */
export class McpToolSource implements ToolSource {
  private readonly servers = new Map<string, Entry>();
  private tools = new Map<string, ToolDefinition<unknown>>();
  private syncing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private sub: Subscription | undefined;
  private closed = false;
  /** `<server>\0<tool>` already warned about, so a re-list does not repeat the warning. */
  private readonly warnedSkips = new Set<string>();

  constructor(private readonly o: McpToolSourceOptions) {}

  /** Connects to the declared servers and follows changes (announcements, periodic refresh). */
  async start(): Promise<void> {
    this.sub = this.o.transport?.subscribe(MCP_CHANGED_SUBJECT, () => {
      void this.sync();
    });
    this.timer = setInterval(() => void this.sync(), this.o.refreshMs ?? 30_000);
    this.timer.unref();
    await this.sync();
  }

  get(name: string): ToolDefinition<unknown> | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** Tells every host (this one included) that the declarations changed. */
  announce(): void {
    this.o.transport?.publish(MCP_CHANGED_SUBJECT, { id: newMessageId(), kind: MCP_CHANGED_EVENT, from: this.o.hostId, deadline: Date.now() + 60_000, body: {} });
  }

  status(name: string): McpServerStatus | undefined {
    return this.servers.get(name)?.connection.status();
  }

  /**
   * Before a spawn naming a tool this host does not know is refused (the
   * registry asks every source): re-read the declarations and re-list the
   * servers' tools, once.
   */
  async refresh(): Promise<void> {
    await this.sync();
    // Bounded: a server that hangs must not hold up a spawn that may not even name its tools.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, REFRESH_WAIT_MS)));
    await Promise.race([Promise.all([...this.servers.values()].map((e) => e.connection.refresh())), bound]);
    clearTimeout(timer);
  }

  /** Brings the connections in line with the stored declarations; concurrent calls share one pass (and ask for one more). */
  sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        await this.syncOnce().catch((e) => this.o.logger.warn({ err: errorMessage(e) }, "reading the MCP server declarations failed"));
      } while (this.again && !this.closed);
    })().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.closed) return;
    const records = await this.o.store.list();
    const wanted = new Map(records.map((r) => [r.name, r]));
    const starting: Promise<void>[] = [];
    for (const [name, entry] of this.servers) {
      const r = wanted.get(name);
      if (!r || r.updatedAt !== entry.record.updatedAt) {
        this.servers.delete(name);
        void entry.connection.close();
      }
    }
    for (const record of records) {
      if (this.servers.has(record.name)) continue;
      const connection = new McpConnection({
        name: record.name,
        declaration: record.declaration,
        allowStdio: this.o.allowStdio,
        logger: this.o.logger,
        onTools: () => this.rebuild(),
        ...(this.o.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.o.connectTimeoutMs } : {}),
        ...(this.o.backoff ? { backoff: this.o.backoff } : {}),
        secrets: this.o.secrets,
      });
      this.servers.set(record.name, { record, connection });
      starting.push(connection.start());
    }
    this.rebuild();
    await Promise.all(starting);
  }

  /** The tool map from every connection's last known list. */
  private rebuild(): void {
    const next = new Map<string, ToolDefinition<unknown>>();
    for (const [server, { record, connection }] of this.servers) {
      for (const tool of connection.tools) {
        const exposed = exposedToolName(server, tool.name);
        if (!exposed) {
          const key = `${server}\u0000${tool.name}`;
          if (this.warnedSkips.has(key)) continue;
          this.warnedSkips.add(key);
          this.o.logger.warn({ server, tool: tool.name }, "MCP tool skipped: <server>__<tool> would not fit the Messages API's tool names (^[a-zA-Z0-9_-]{1,64}$)");
          continue;
        }
        next.set(exposed, this.definition(server, record, connection, tool.name, tool.description, tool.inputSchema));
      }
    }
    this.tools = next;
  }

  private definition(server: string, record: McpServerRecord, connection: McpConnection, tool: string, description: string | undefined, schema: Record<string, unknown>): ToolDefinition<unknown> {
    const d = record.declaration;
    const own = d.tools[tool];
    const timeoutMs = own?.timeoutMs ?? d.timeoutMs;
    const { $schema: _ignored, ...inputSchema } = schema;
    const def: ToolDefinition<unknown> = {
      name: exposedToolName(server, tool)!,
      description: description ?? `${tool} on MCP server ${server}`,
      input: inputValidator(inputSchema, this.o.logger, server, tool),
      inputSchema: { type: "object", ...inputSchema },
      permission: own?.permission ?? d.permission,
      run: (input, ctx) =>
        connection.call(tool, input as Record<string, unknown>, { signal: ctx.signal, idempotencyKey: ctx.idempotencyKey, timeoutMs: timeoutMs ?? 30_000 }),
    };
    if (timeoutMs !== undefined) def.timeoutMs = timeoutMs;
    if (own?.rateLimit) def.rateLimit = own.rateLimit;
    return def;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.sub?.unsubscribe();
    await this.syncing?.catch(() => undefined);
    await Promise.all([...this.servers.values()].map((e) => e.connection.close()));
    this.servers.clear();
    this.tools = new Map();
  }
}

/**
 * The zod schema that checks each call, built from the server's JSON Schema
 * with zod's own converter; a schema it cannot convert is checked only as
 * an object (the server validates its own arguments), and we say so.
 */
function inputValidator(schema: Record<string, unknown>, logger: Logger, server: string, tool: string): z.ZodType<unknown> {
  try {
    return z.fromJSONSchema({ type: "object", ...schema } as Parameters<typeof z.fromJSONSchema>[0]) as z.ZodType<unknown>;
  } catch (e) {
    logger.warn({ server, tool, err: errorMessage(e) }, "MCP tool's input schema could not be turned into a validator; its calls are checked only as objects (the server checks them itself)");
    return z.looseObject({});
  }
}
