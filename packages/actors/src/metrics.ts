/** Why an activation happened: the `reason` label of colony_agent_activations_total. */
export type ActivationReason = "new" | "restore" | "failover";
export type MessageOutcome = "accepted" | "duplicate" | "completed" | "failed" | "rejected";
export type TokenKind = "input" | "output" | "cache_read" | "cache_write";
/** How a tool call ended: ok, error (the tool failed or timed out), invalid (bad arguments), denied, rate_limited. */
export type ToolOutcome = "ok" | "error" | "invalid" | "denied" | "rate_limited";

/** What model providers report (colony_llm_*). `status` is "ok" or an error class such as "429", "529", "stream_error". */
export interface ModelMetrics {
  llmRequest(model: string, status: string, seconds: number): void;
  llmTokens(model: string, kind: TokenKind, tokens: number): void;
  llmCost(model: string, usd: number): void;
}

export const noopModelMetrics: ModelMetrics = {
  llmRequest() {},
  llmTokens() {},
  llmCost() {},
};

/**
 * What the agent runtime reports. The host implements it with prom-client;
 * this package never imports prom-client.
 */
export interface AgentMetrics {
  activated(type: string, reason: ActivationReason): void;
  passivated(type: string): void;
  message(type: string, outcome: MessageOutcome): void;
  turnFinished(type: string, seconds: number): void;
  snapshotWritten(seconds: number, bytes: number): void;
  toolCall(tool: string, outcome: ToolOutcome): void;
  /** The agent's circuit opened (e.g. it repeated the same tool call): it is suspended. */
  circuitBreakerTripped(type: string): void;
  /** Something needs a person: a suspension, repeated worker failures. */
  escalated(type: string): void;
  /** A message was moved to its agent's dead-letter list (counted once its move is durable). */
  deadLettered(type: string): void;
}

export const noopMetrics: AgentMetrics = {
  activated() {},
  passivated() {},
  message() {},
  turnFinished() {},
  snapshotWritten() {},
  toolCall() {},
  circuitBreakerTripped() {},
  escalated() {},
  deadLettered() {},
};
