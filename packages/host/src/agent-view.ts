import type { AgentState } from "@colony/actors";

/**
 * An agent as the admin API shows it (GET /v1/agents/{type}/{key}): bounded
 * in size, so it can be forwarded from any host whatever the size of the
 * agent's context. The conversation itself is paged: {@link messagePage}.
 */
export interface AgentView {
  id: string;
  type: string;
  key: string;
  status: AgentState["status"];
  /** The host id it is active on, or null when passivated. */
  host: string | null;
  turns: number;
  usage: AgentState["usage"];
  config: AgentState["config"];
  /** The model provider that serves `config.model` here: `anthropic`, or `scripted` (offline, no ANTHROPIC_API_KEY). */
  provider: string;
  parent: string | null;
  children: string[];
  memory: Record<string, string>;
  /** Messages in its context; read them with GET …/messages. */
  messageCount: number;
  /** Why it is suspended (its circuit is open), or null. */
  suspension: AgentState["suspension"];
  /** The last turn that did not complete and why (limits, budgets, model failures). */
  lastError: AgentState["lastError"];
  escalations: AgentState["escalations"];
  /** Tool calls of the running turn waiting for a person. */
  awaitingApproval: NonNullable<AgentState["turn"]>["awaiting"];
  createdAt: string;
  updatedAt: string;
}

/** One row of GET /v1/agents. */
export interface AgentSummary {
  id: string;
  type: string;
  key: string;
  status: AgentState["status"];
  host: string | null;
  turns: number;
}

export function toView(s: AgentState, host: string | null, provider: string): AgentView {
  return {
    id: s.id,
    type: s.type,
    key: s.key,
    status: s.status,
    host,
    turns: s.turns,
    usage: s.usage,
    config: s.config,
    provider,
    parent: s.parent,
    children: s.children,
    memory: s.memory,
    messageCount: s.messages.length,
    suspension: s.suspension,
    lastError: s.lastError,
    escalations: s.escalations,
    awaitingApproval: s.turn?.awaiting ?? [],
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}

export function toSummary(s: Pick<AgentState, "id" | "type" | "key" | "status" | "turns">, host: string | null): AgentSummary {
  return { id: s.id, type: s.type, key: s.key, status: s.status, host, turns: s.turns };
}

/** One page of an agent's conversation (GET /v1/agents/{type}/{key}/messages). */
export interface MessagePage {
  messages: AgentState["messages"];
  /** Position of the first message of this page in the context. */
  start: number;
  /** Messages in the whole context. */
  total: number;
  /** Pass as ?cursor= for the next page; null on the last page. */
  nextCursor: string | null;
}

export const DEFAULT_MESSAGE_PAGE = 100;
/**
 * A page stops growing past this many bytes of JSON (it always holds one
 * message), so any page fits in one envelope between hosts: a message is at
 * most a request body (MAX_BODY_BYTES) plus a little.
 */
export const MESSAGE_PAGE_BYTES = 64 * 1024;

/**
 * Messages from position `cursor` (default 0) on, at most `limit`, and no
 * more than about MESSAGE_PAGE_BYTES. Positions shift when the context is
 * compacted: a reader then starts over from the beginning.
 */
export function messagePage(messages: AgentState["messages"], cursor = 0, limit = DEFAULT_MESSAGE_PAGE): MessagePage {
  const start = Math.min(cursor, messages.length);
  const out: AgentState["messages"] = [];
  let bytes = 0;
  for (let i = start; i < messages.length && out.length < limit; i++) {
    const size = Buffer.byteLength(JSON.stringify(messages[i]));
    if (out.length > 0 && bytes + size > MESSAGE_PAGE_BYTES) break;
    out.push(messages[i]!);
    bytes += size;
  }
  const end = start + out.length;
  return { messages: out, start, total: messages.length, nextCursor: end < messages.length ? String(end) : null };
}
