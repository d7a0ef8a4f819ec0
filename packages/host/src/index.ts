/** @colony/host: a Colony host node, its admin API, the embedded cluster and the colony CLI. */
export { HostNode, builtinTools } from "./node.ts";
export type { HostNodeOptions } from "./node.ts";
export { EmbeddedCluster } from "./embedded.ts";
export type { EmbeddedOptions } from "./embedded.ts";
export { HostService } from "./host.ts";
export type { SpawnRequest, SendRequest, SendOutcome } from "./host.ts";
export { Catalog } from "./catalog/catalog.ts";
export { AgentRouter } from "./routing/router.ts";
export { createAdminApi } from "./admin/app.ts";
export { MAX_BODY_BYTES, MAX_CONTENT_CHARS } from "./admin/schemas.ts";
export { ColonyMetrics } from "./metrics/metrics.ts";
export { loadConfig, ConfigError, DEFAULTS } from "./config.ts";
export type { HostConfig } from "./config.ts";
export { createLogger } from "./logger.ts";
export type { AgentView, AgentSummary } from "./agent-view.ts";
