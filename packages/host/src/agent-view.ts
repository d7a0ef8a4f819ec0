import type { AgentState } from "@colony/actors";

/** An agent as the admin API shows it (GET /v1/agents/{type}/{key}). */
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
  parent: string | null;
  children: string[];
  memory: Record<string, string>;
  messages: AgentState["messages"];
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

export function toView(s: AgentState, host: string | null): AgentView {
  return {
    id: s.id,
    type: s.type,
    key: s.key,
    status: s.status,
    host,
    turns: s.turns,
    usage: s.usage,
    config: s.config,
    parent: s.parent,
    children: s.children,
    memory: s.memory,
    messages: s.messages,
    suspension: s.suspension,
    lastError: s.lastError,
    escalations: s.escalations,
    awaitingApproval: s.turn?.awaiting ?? [],
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}

export function toSummary(s: AgentState, host: string | null): AgentSummary {
  return { id: s.id, type: s.type, key: s.key, status: s.status, host, turns: s.turns };
}
