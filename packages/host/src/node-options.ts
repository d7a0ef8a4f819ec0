import type { ApprovalIndex, Clock, HostId, Logger, ModelProvider, StoreDriver, ToolRegistry, Transport } from "@colony/actors";
import type { TraceStore } from "./observability/trace-store.ts";
import type { TypeStore } from "./records/type-store.ts";
import type { AgentTypeRegistry } from "@colony/actors";
import type { PlacementRegistry } from "@colony/directory";
import type { HostConfig } from "./config.ts";
import { McpToolSource } from "./mcp/source.ts";
import { type McpServerStore, MemoryMcpServerStore } from "./mcp/store.ts";
import type { ColonyMetrics } from "./metrics/metrics.ts";
import type { SpanExport } from "./observability/otel.ts";
import { DeclaredTools } from "./tools/declared-tools.ts";
import type { SecretResolver } from "./tools/secrets.ts";
import { noSecrets } from "./tools/secrets.ts";
import type { ToolDeclarationStore } from "./tools/tool-declaration-store.ts";
import { MemoryToolDeclarationStore } from "./tools/tool-declaration-store.ts";

/** What a host is built from: its config, its connections and stores, and the optional parts tests and embedders replace. */
export interface HostNodeOptions {
  config: HostConfig;
  driver: StoreDriver;
  registry: PlacementRegistry;
  /** Tool calls waiting for a person, visible to every host. */
  approvals: ApprovalIndex;
  /** Agents' execution traces, readable from every host. */
  traces: TraceStore;
  transport: Transport;
  model: ModelProvider;
  logger: Logger;
  metrics?: ColonyMetrics;
  /** Time for passivation and turns; liveness (heartbeats) always uses the wall clock. */
  clock?: Clock;
  types?: AgentTypeRegistry;
  /** Operators' type defaults (PUT /v1/types), shared by every host: Redis in a cluster; default in memory. */
  typeStore?: TypeStore;
  tools?: ToolRegistry;
  /** HTTP tools declared through the API (PUT /v1/tools), shared by every host: Redis in a cluster; default in memory. */
  toolStore?: ToolDeclarationStore;
  /** Values behind `{{secret:NAME}}` in declared tools (config.ts: COLONY_SECRET_<NAME>, COLONY_SECRETS_DIR); default none. */
  secrets?: SecretResolver;
  /** Declared MCP servers (PUT /v1/mcp), shared by every host: Redis in a cluster; default in memory. */
  mcpStore?: McpServerStore;
  /** Skip prom-client's default process metrics (tests running many hosts in one process). */
  defaultMetrics?: boolean;
  /**
   * On shutdown: `handoff` (cluster) finishes running turns and leaves queued
   * messages to the agent's next activation on another host; `finish`
   * (single process) runs every accepted message before exiting.
   */
  drainMode: "handoff" | "finish";
  /** Drop every activation if this process was frozen past the failure timeout (separate-process clusters). */
  stallDetection?: boolean;
  /** Close the store, registry and transport on shutdown (false when shared in-process). */
  ownsConnections?: boolean;
  /** What of the store's dependencies (Redis) is unreachable, or undefined: /readyz answers 503 while it says so. */
  dependencies?: () => string | undefined;
  /** Milliseconds since the store (Redis) last answered (StoreWatch), sent in every heartbeat: the directory fails over a host cut off from Redis alone. */
  storeSilentMs?: () => number;
  /** OpenTelemetry export of the agents' turns (startSpanExport); absent: none. Shut down with the host. */
  spans?: SpanExport;
}

/**
 * The tools operators declare at run time, as two tool sources: HTTP tools
 * (PUT /v1/tools) and MCP servers' tools (PUT /v1/mcp), each over its store
 * (in memory unless the options give a shared one).
 */
export function declaredToolSources(opts: HostNodeOptions, hostId: HostId) {
  const toolStore = opts.toolStore ?? new MemoryToolDeclarationStore();
  const mcpStore = opts.mcpStore ?? new MemoryMcpServerStore();
  const secrets = opts.secrets ?? noSecrets;
  const declared = new DeclaredTools({ store: toolStore, transport: opts.transport, hostId, logger: opts.logger, http: { secrets } });
  const mcp = new McpToolSource({
    store: mcpStore,
    logger: opts.logger.child({ component: "mcp" }),
    hostId,
    allowStdio: opts.config.mcpAllowStdio ?? false,
    transport: opts.transport,
    connectTimeoutMs: Math.min(opts.config.connectTimeoutMs, 10_000),
    secrets,
  });
  return { toolStore, mcpStore, declared, mcp };
}
