import type { AgentEvent } from "./events.ts";
import type { AgentState, PendingMessage } from "./state.ts";
import type { TurnDeps } from "./turn-deps.ts";

/**
 * One running turn: its message, its dependencies and the agent's state as
 * it moves. Every update is stamped and published, so readers see progress
 * without waiting for the turn.
 */
export class TurnRun {
  readonly emit: (event: AgentEvent) => void;

  constructor(
    public state: AgentState,
    readonly pending: PendingMessage,
    readonly deps: TurnDeps,
  ) {
    this.emit = deps.emit ?? (() => {});
  }

  /** Makes `next` the current state, stamped now, and publishes it. */
  update(next: AgentState): void {
    this.state = { ...next, updatedAt: this.deps.clock.now() };
    this.deps.publish(this.state);
  }
}
