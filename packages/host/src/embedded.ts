import type { Clock, Logger, ModelProvider, ToolRegistry } from "@colony/actors";
import type { AgentTypeRegistry, ApprovalIndex, StoreDriver } from "@colony/actors";
import type { PlacementRegistry } from "@colony/directory";
import { MemoryApprovalIndex, MemoryBus, MemoryStoreDriver, randomToken } from "@colony/actors";
import { DirectoryNode, MemoryPlacementRegistry } from "@colony/directory";
import type { HostConfig } from "./config.ts";
import type { TraceStore } from "./observability/trace-store.ts";
import { MemoryTraceStore } from "./observability/trace-store.ts";
import type { TypeStore } from "./records/type-store.ts";
import { MemoryTypeStore } from "./records/type-store.ts";
import type { SpanExport } from "./observability/otel.ts";
import type { SecretResolver } from "./tools/secrets.ts";
import type { ToolDeclarationStore } from "./tools/tool-declaration-store.ts";
import { MemoryToolDeclarationStore } from "./tools/tool-declaration-store.ts";
import type { ColonyMetrics } from "./metrics/metrics.ts";
import { HostNode } from "./node.ts";
import { type McpServerStore, MemoryMcpServerStore } from "./mcp/store.ts";

export interface EmbeddedOptions {
  /** Settings for the hosts; each extra host gets its own id and a free port. */
  config: HostConfig;
  model: ModelProvider;
  logger: Logger;
  hosts?: number;
  clock?: Clock;
  types?: AgentTypeRegistry;
  tools?: ToolRegistry;
  defaultMetrics?: boolean;
  metrics?: ColonyMetrics;
  /** Where agents and placements live; default: in memory. Tests pass Redis-backed ones. */
  storage?: { driver: StoreDriver; registry: PlacementRegistry; approvals: ApprovalIndex; traces: TraceStore; typeStore?: TypeStore; toolStore?: ToolDeclarationStore; mcpStore?: McpServerStore };
  /** Values behind `{{secret:NAME}}` in declared HTTP tools. */
  secrets?: SecretResolver;
  /** OpenTelemetry export of the first host's turns (`colony dev`). */
  spans?: SpanExport;
}

/**
 * A whole cluster in one process: a directory and N hosts over an in-memory
 * bus (which encodes every envelope like NATS) and one in-memory store.
 * `colony dev` is one of these with one host; fast tests use more.
 */
export class EmbeddedCluster {
  private constructor(
    readonly directory: DirectoryNode,
    readonly hosts: HostNode[],
    readonly bus: MemoryBus,
    readonly driver: StoreDriver,
    private readonly o: EmbeddedOptions,
    private readonly registry: PlacementRegistry,
    private readonly approvals: ApprovalIndex,
    private readonly traces: TraceStore,
    private readonly typeStore: TypeStore,
    private readonly toolStore: ToolDeclarationStore = o.storage?.toolStore ?? new MemoryToolDeclarationStore(),
    private readonly mcpStore: McpServerStore = o.storage?.mcpStore ?? new MemoryMcpServerStore(),
  ) {}

  static async start(o: EmbeddedOptions): Promise<EmbeddedCluster> {
    const bus = new MemoryBus();
    const memory = new MemoryStoreDriver();
    const { driver, registry, approvals, traces } = o.storage ?? {
      driver: memory,
      registry: new MemoryPlacementRegistry(memory),
      approvals: new MemoryApprovalIndex(),
      traces: new MemoryTraceStore(),
    };
    const directory = await DirectoryNode.start({
      id: "directory",
      transport: bus.connect("directory"),
      registry,
      logger: o.logger.child({ component: "directory" }),
      heartbeatMs: o.config.heartbeatMs,
      failureTimeoutMs: o.config.failureTimeoutMs,
      ...(o.config.suspectAfterMs !== undefined ? { suspectAfterMs: o.config.suspectAfterMs } : {}),
      strategy: o.config.placement,
      defaultMetrics: false,
      ownsConnections: false,
    });
    const cluster = new EmbeddedCluster(directory, [], bus, driver, o, registry, approvals, traces, o.storage?.typeStore ?? new MemoryTypeStore());
    for (let i = 0; i < (o.hosts ?? 1); i++) await cluster.addHost();
    return cluster;
  }

  /** Starts one more host in the cluster (scale out). */
  async addHost(overrides: Partial<HostConfig> = {}): Promise<HostNode> {
    const first = this.hosts.length === 0;
    const config: HostConfig = {
      ...this.o.config,
      ...(first ? {} : { hostId: `${this.o.config.hostId}-${randomToken(4)}`, httpPort: 0 }),
      ...overrides,
    };
    // Its silence proves nothing: whatever froze it froze this directory too.
    this.directory.service.markLocal(config.hostId);
    const host = await HostNode.start({
      config,
      driver: this.driver,
      registry: this.registry,
      approvals: this.approvals,
      traces: this.traces,
      typeStore: this.typeStore,
      toolStore: this.toolStore,
      ...(this.o.secrets ? { secrets: this.o.secrets } : {}),
      mcpStore: this.mcpStore,
      transport: this.bus.connect(config.hostId),
      model: this.o.model,
      logger: this.o.logger,
      drainMode: "finish",
      ownsConnections: false,
      ...(first && this.o.metrics ? { metrics: this.o.metrics } : {}),
      ...(first && this.o.spans ? { spans: this.o.spans } : {}),
      ...(this.o.clock ? { clock: this.o.clock } : {}),
      ...(this.o.types ? { types: this.o.types } : {}),
      ...(this.o.tools ? { tools: this.o.tools } : {}),
      ...(this.o.defaultMetrics !== undefined ? { defaultMetrics: first ? this.o.defaultMetrics : false } : {}),
    });
    this.hosts.push(host);
    // The first heartbeat crosses the bus asynchronously; placements need the directory to know the host.
    const deadline = Date.now() + 5_000;
    while (!this.directory.service.snapshot().hosts.some((h) => h.id === host.hostId)) {
      if (Date.now() > deadline) throw new Error(`the directory never saw host ${host.hostId}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return host;
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.shutdown()));
    await this.directory.shutdown();
  }
}
