/**
 * The lifecycle of one activation, as a state machine. Orleans spells its
 * activation states out (Creating, Activating, Valid, Deactivating, Invalid);
 * here loading happens in `Activation.start` before the object exists, so an
 * activation is born valid and its states are:
 *
 * - `active`: accepts messages and runs their turns, in order (Valid).
 * - `draining`: refuses new messages, runs every accepted one, then writes
 *   its final checkpoint and ends (Deactivating: passivation, a plain drain).
 * - `handingOff`: refuses new messages and finishes the running turn only;
 *   the queued ones stay in the durable inbox for the next activation,
 *   wherever it is (Deactivating: a host leaving).
 * - `ended`: stopped, or fenced (a newer activation owns the agent, or it
 *   was deleted); never writes again (Invalid).
 */
export type Phase = "active" | "draining" | "handingOff" | "ended";

/** What moves an activation on: a drain, a drain with handoff, its end. */
export type LifecycleEvent = "drain" | "handOff" | "end";

/**
 * The phase after `event`, or null if the machine refuses it (a second
 * stop, anything once ended): a refused event changes nothing.
 */
export function transition(from: Phase, event: LifecycleEvent): Phase | null {
  switch (from) {
    case "active":
      return event === "drain" ? "draining" : event === "handOff" ? "handingOff" : "ended";
    case "draining":
    case "handingOff":
      return event === "end" ? "ended" : null;
    case "ended":
      return null;
  }
}

/** Whether a new message may be accepted. */
export function acceptsMessages(phase: Phase): boolean {
  return phase === "active";
}

/** Whether the next queued message may start (or resume) its turn. */
export function startsTurns(phase: Phase): boolean {
  return phase === "active" || phase === "draining";
}

/** Something that answers everyone waiting on an activation when it ends. */
export interface Settles {
  rejectAll(error: Error): void;
}

/**
 * Holds an activation's phase and the waiters to settle when it ends: the
 * one place the phase changes, only along `transition`.
 */
export class Lifecycle {
  private current: Phase = "active";

  constructor(private readonly waiting: readonly Settles[]) {}

  get phase(): Phase {
    return this.current;
  }

  get ended(): boolean {
    return this.current === "ended";
  }

  /** Starts deactivating (with `handoff`, after the running turn only); false if it already is, or ended. */
  deactivate(handoff: boolean): boolean {
    return this.move(handoff ? "handOff" : "drain");
  }

  /**
   * Ends, from any live phase: every waiter and every open request gets
   * `error`, exactly once. False (and nothing settled) if it had ended.
   */
  end(error: Error): boolean {
    if (!this.move("end")) return false;
    for (const w of this.waiting) w.rejectAll(error);
    return true;
  }

  private move(event: LifecycleEvent): boolean {
    const next = transition(this.current, event);
    if (next === null) return false;
    this.current = next;
    return true;
  }
}
