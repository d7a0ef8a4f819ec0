/** Why an activation happened (DESIGN.md label values). */
export type ActivationReason = "new" | "restore" | "failover";
export type MessageOutcome = "accepted" | "duplicate" | "completed" | "failed" | "rejected";

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
}

export const noopMetrics: AgentMetrics = {
  activated() {},
  passivated() {},
  message() {},
  turnFinished() {},
  snapshotWritten() {},
};
