import type { AgentStore, AgentTypeRegistry, ApprovalIndex, Clock, HostId, Logger, ModelProvider, ToolRegistry } from "@colony/actors";
import type { TraceStore } from "./observability/trace-store.ts";
import type { DirectoryClient, PlacementRegistry } from "@colony/directory";
import type { AgentTypes } from "./agent-types.ts";
import type { AgentEventHub } from "./observability/events.ts";
import type { LocalAgents } from "./routing/local.ts";
import type { AgentRouter } from "./routing/router.ts";

/** A spawn from the admin API: the type, an optional key and config. */
export interface SpawnRequest {
  type: string;
  key?: string;
  config?: unknown;
}

/** A message for an agent, from the admin API or a delegation. */
export interface SendRequest {
  content: string;
  idempotencyKey?: string;
  wait?: boolean;
  /** The caller's W3C traceparent header; the message continues that trace. */
  traceparent?: string;
  /** How long a waiting send waits (default waitTimeoutMs); used by delegation. */
  waitMs?: number;
  /** A waiting send answers as soon as the turn pauses for approval (the API's); delegation waits on. */
  untilPause?: boolean;
}

/** What HostService works with. */
export interface HostServiceDeps {
  hostId: HostId;
  store: AgentStore;
  registry: PlacementRegistry;
  router: AgentRouter;
  directory: DirectoryClient;
  approvals: ApprovalIndex;
  traces: TraceStore;
  events: AgentEventHub;
  local: LocalAgents;
  types: AgentTypeRegistry;
  tools: ToolRegistry;
  /** This host's model provider: views name it. */
  model: ModelProvider;
  /** Every agent type a spawn may name, with its defaults. */
  agentTypes: AgentTypes;
  clock: Clock;
  logger: Logger;
  /** How long a `wait: true` send waits for its reply before answering 202. */
  waitTimeoutMs: number;
}

/** Page size of agent and dead-letter listings when none is asked for. */
export const DEFAULT_PAGE_SIZE = 50;
