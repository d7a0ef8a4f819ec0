import type { Clock } from "../clock.ts";
import type { AgentMetrics } from "../metrics.ts";
import type { ModelProvider } from "../model/provider.ts";
import type { ToolRegistry } from "../tools/registry.ts";
import type { AgentEvent } from "./events.ts";
import type { AgentState, DeadLetter, TurnResult } from "./state.ts";

/** What a turn needs from its activation. */
export interface TurnDeps {
  model: ModelProvider;
  tools: ToolRegistry;
  clock: Clock;
  metrics: Pick<AgentMetrics, "toolCall" | "circuitBreakerTripped" | "escalated">;
  /** Makes a step durable (a fenced snapshot write); called after every model response that asks for tools and after every batch of tool results. */
  checkpoint(state: AgentState): Promise<void>;
  /** Publishes each new state so readers see progress without waiting for the turn. */
  publish(state: AgentState): void;
  /** Receives every step of the turn (the live stream and the execution trace). */
  emit?: (event: AgentEvent) => void;
  signal?: AbortSignal;
  /**
   * The state's message list belongs to the caller alone: nobody keeps an
   * older state and expects its messages unchanged (an activation's hot
   * state). New messages are then pushed onto that list rather than onto a
   * copy of it (see appendMessages).
   */
  ownsConversation?: boolean;
}

/**
 * A turn either ends (with a result for its message; with `deadLetter` when
 * the message is given up and moves to the dead-letter list) or pauses until
 * a person approves its tool calls.
 */
export type TurnOutcome = { kind: "done"; state: AgentState; result: TurnResult; deadLetter?: DeadLetter } | { kind: "paused"; state: AgentState };
