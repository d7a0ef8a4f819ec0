import type { AgentId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import type { ApprovalWatch } from "./approval-watch.ts";
import type { EventSink } from "./event-sink.ts";
import type { HotState } from "./hot-state.ts";
import type { InboxQueue } from "./inbox-queue.ts";
import type { Lifecycle } from "./lifecycle.ts";
import type { TurnAbort } from "./turn-abort.ts";
import type { TurnLoopParts } from "./turn-loop.ts";
import type { ResultWaiters } from "./waiters.ts";

type Fields = Omit<TurnLoopParts, "signal" | "aborted" | "wake" | "fence" | "touch">;

/**
 * An activation's parts as its turn loop sees them. A class, not an object
 * literal with closures: every activation's share one shape and one set of
 * methods, where a literal with a getter and three closures cost each idle
 * agent about a kilobyte.
 */
export class LoopParts implements TurnLoopParts {
  readonly id: AgentId;
  readonly deps: TurnLoopParts["deps"];
  readonly hot: HotState;
  readonly queue: InboxQueue;
  readonly waiters: ResultWaiters;
  readonly approvals: ApprovalWatch;
  readonly events: EventSink;
  readonly log: Logger;
  readonly lifecycle: Lifecycle;
  /** The actor that runs the turns; set once it is spawned. */
  actor: { tell(message: { kind: "turn" }): void } | undefined;
  /** When the agent last did anything (clock time). */
  lastActive: number;

  constructor(
    fields: Fields,
    private readonly abort: TurnAbort,
    private readonly owner: { fence(error: Error): void },
  ) {
    ({ id: this.id, deps: this.deps, hot: this.hot, queue: this.queue, waiters: this.waiters, approvals: this.approvals, events: this.events, log: this.log, lifecycle: this.lifecycle } = fields);
    this.lastActive = fields.deps.clock.now();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get aborted(): boolean {
    return this.abort.aborted;
  }

  wake(): void {
    this.actor?.tell({ kind: "turn" });
  }

  fence(error: Error): void {
    this.owner.fence(error);
  }

  touch(): void {
    this.lastActive = this.deps.clock.now();
  }
}
