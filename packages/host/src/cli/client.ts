import type { IncomingMessage } from "node:http";
import type { AgentTypeView } from "../agent-types.ts";
import type { PendingApproval, AgentEventRecord, DeadLetterPage } from "@colony/actors";
import type { HostsReply } from "@colony/directory";
import type { AgentSummary, AgentView, MessagePage } from "../agent-view.ts";
import type { ClientConfig } from "../client-config.ts";
import { open, readText } from "./http-request.ts";

/**
 * The CLI's HTTP client for a host's admin API (README "The admin API").
 * Every failure is one of two typed errors, which the commands map to exit
 * codes: ApiError (the API answered 4xx/5xx: exit 1) and ConnectionError
 * (nothing usable came back: exit 2).
 */

/** The API answered with an error status and (usually) `{error: {code, message, details?}}`. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The host could not be reached, or answered something that is not the admin API. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SpawnInput {
  type: string;
  key?: string;
  config?: Record<string, unknown>;
}

export interface SendInput {
  content: string;
  idempotencyKey?: string;
  wait?: boolean;
}

export type SendReply =
  | { messageId: string; status: "completed" | "failed"; reply: string; usage: AgentView["usage"]; duplicate: boolean; error?: { code: string; message: string }; deadLetter?: { id: string; reason: { code: string; message: string }; attempts: number } }
  | { messageId: string; status: "accepted"; duplicate: boolean }
  | { messageId: string; status: "awaiting_approval"; awaiting: string[]; duplicate: boolean };

export interface AgentList {
  agents: AgentSummary[];
  nextCursor: string | null;
}

/** An agent id split into the two path segments the API uses. */
export interface TracePage {
  entries: (AgentEventRecord & { id: string })[];
  nextCursor: string | null;
}

export interface AgentRef {
  type: string;
  key: string;
}

const path = (a: AgentRef) => `/v1/agents/${encodeURIComponent(a.type)}/${encodeURIComponent(a.key)}`;

export class ColonyClient {
  constructor(
    private readonly config: ClientConfig,
    private readonly timeoutMs = 0,
  ) {}

  get url(): string {
    return this.config.url;
  }

  /** One request; resolves with the parsed JSON body (undefined for 204), or throws ApiError / ConnectionError. */
  async request<T>(method: string, route: string, body?: unknown): Promise<T> {
    const url = `${this.config.url}${route}`;
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    let res: IncomingMessage;
    let text: string;
    try {
      const signal = this.timeoutMs > 0 ? AbortSignal.timeout(this.timeoutMs) : undefined;
      res = await open(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), ...(signal ? { signal } : {}) });
      text = await readText(res);
    } catch (e) {
      throw this.unreachable(e);
    }
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new ConnectionError(this.config.url, `${method} ${url} answered ${res.statusCode} with a body that is not JSON: is COLONY_URL a Colony host?`);
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      const e = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      const code = typeof e?.code === "string" ? e.code : `http_${status}`;
      const message = typeof e?.message === "string" ? e.message : res.statusMessage || `HTTP ${status}`;
      const details = e?.details && typeof e.details === "object" ? (e.details as Record<string, unknown>) : undefined;
      throw new ApiError(status, code, message, details);
    }
    return json as T;
  }

  /** The ConnectionError for a request that got no usable answer. */
  private unreachable(e: unknown): ConnectionError {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
    return new ConnectionError(this.config.url, `cannot reach ${this.config.url} (${cause}); is a host running there? (set COLONY_URL)`, { cause: e });
  }

  spawn(input: SpawnInput): Promise<AgentView> {
    return this.request("POST", "/v1/agents", input);
  }

  list(opts: { type?: string; cursor?: string; limit?: number } = {}): Promise<AgentList> {
    const q = new URLSearchParams();
    if (opts.type !== undefined) q.set("type", opts.type);
    if (opts.cursor !== undefined) q.set("cursor", opts.cursor);
    if (opts.limit !== undefined) q.set("limit", String(opts.limit));
    const qs = q.toString();
    return this.request("GET", `/v1/agents${qs ? `?${qs}` : ""}`);
  }

  get(agent: AgentRef): Promise<AgentView> {
    return this.request("GET", path(agent));
  }

  messages(agent: AgentRef, opts: { cursor?: string; limit?: number } = {}): Promise<MessagePage> {
    const q = new URLSearchParams();
    if (opts.cursor !== undefined) q.set("cursor", opts.cursor);
    if (opts.limit !== undefined) q.set("limit", String(opts.limit));
    const qs = q.toString();
    return this.request("GET", `${path(agent)}/messages${qs ? `?${qs}` : ""}`);
  }

  /** The whole conversation, following the cursor page by page. */
  async allMessages(agent: AgentRef): Promise<MessagePage["messages"]> {
    const out: MessagePage["messages"] = [];
    let cursor: string | undefined;
    do {
      const page = await this.messages(agent, { ...(cursor ? { cursor } : {}), limit: 500 });
      out.push(...page.messages);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  }

  async remove(agent: AgentRef): Promise<void> {
    await this.request("DELETE", path(agent));
  }

  send(agent: AgentRef, input: SendInput): Promise<SendReply> {
    return this.request("POST", `${path(agent)}/messages`, input);
  }

  trace(agent: AgentRef, opts: { turn?: number; since?: number; cursor?: string; limit?: number } = {}): Promise<TracePage> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts)) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return this.request("GET", `${path(agent)}/trace${qs ? `?${qs}` : ""}`);
  }

  /**
   * Follows the agent's live events (server-sent) until `onEvent` returns
   * true or the stream ends. `onReady` runs once the subscription is live:
   * the moment to send a message whose turn should be seen whole.
   * `onLagged` hears how many events the host dropped because this reader
   * fell behind.
   */
  async follow(agent: AgentRef, onEvent: (rec: AgentEventRecord) => boolean | void, onReady: () => Promise<void>, onLagged?: (missed: number) => void): Promise<void> {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    // Imported here, not at the top: the events' schemas load zod, which only
    // a following command needs (every event crossing HTTP is still checked).
    const { agentEventRecordSchema } = await import("@colony/actors/events");
    const ctl = new AbortController();
    let res: IncomingMessage;
    try {
      res = await open(`${this.config.url}${path(agent)}/events`, { method: "GET", headers, signal: ctl.signal });
    } catch (e) {
      throw new ConnectionError(this.config.url, `cannot reach ${this.config.url} (${e instanceof Error ? e.message : String(e)}); set COLONY_URL`, { cause: e });
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      const text = await readText(res).catch(() => "");
      let body: { error?: { code?: string; message?: string } } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = undefined;
      }
      ctl.abort();
      throw new ApiError(status, body?.error?.code ?? `http_${status}`, body?.error?.message ?? res.statusMessage ?? "");
    }
    res.setEncoding("utf8");
    let buffer = "";
    try {
      for await (const value of res) {
        buffer += value as string;
        let sep;
        while ((sep = buffer.indexOf("\n\n")) >= 0) {
          const chunk = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          if (chunk.startsWith(":")) continue;
          const name = /^event: (.*)$/m.exec(chunk)?.[1];
          const data = /^data: (.*)$/m.exec(chunk)?.[1] ?? "null";
          if (name === "ready") await onReady();
          else if (name === "lagged") onLagged?.(Number((JSON.parse(data) as { missed?: unknown }).missed) || 0);
          else if (name && name !== "end") {
            const parsed = agentEventRecordSchema.safeParse(JSON.parse(data));
            if (parsed.success && onEvent(parsed.data) === true) return;
          }
        }
      }
    } finally {
      ctl.abort();
    }
  }

  async approvals(): Promise<PendingApproval[]> {
    return (await this.request<{ approvals: PendingApproval[] }>("GET", "/v1/approvals")).approvals;
  }

  decide(agent: AgentRef, callId: string, approve: boolean, reason?: string): Promise<{ callId: string; approve: boolean }> {
    return this.request("POST", `${path(agent)}/approvals/${encodeURIComponent(callId)}`, { approve, ...(reason !== undefined ? { reason } : {}) });
  }

  resume(agent: AgentRef): Promise<AgentView> {
    return this.request("POST", `${path(agent)}/resume`);
  }

  deadLetters(agent: AgentRef, opts: { cursor?: string; limit?: number } = {}): Promise<DeadLetterPage> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts)) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return this.request("GET", `${path(agent)}/dead-letters${qs ? `?${qs}` : ""}`);
  }

  replayDeadLetter(agent: AgentRef, id: string): Promise<{ messageId: string; status: "accepted"; duplicate: boolean; replayOf: string }> {
    return this.request("POST", `${path(agent)}/dead-letters/${encodeURIComponent(id)}/replay`);
  }

  async discardDeadLetter(agent: AgentRef, id: string): Promise<void> {
    await this.request("DELETE", `${path(agent)}/dead-letters/${encodeURIComponent(id)}`);
  }

  types(): Promise<{ types: AgentTypeView[] }> {
    return this.request("GET", "/v1/types");
  }

  type(name: string): Promise<AgentTypeView> {
    return this.request("GET", `/v1/types/${encodeURIComponent(name)}`);
  }

  putType(name: string, config: Record<string, unknown>): Promise<AgentTypeView> {
    return this.request("PUT", `/v1/types/${encodeURIComponent(name)}`, { config });
  }

  hosts(): Promise<HostsReply> {
    return this.request("GET", "/v1/hosts");
  }
}
