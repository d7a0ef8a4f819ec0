import * as nact from "nact";
import { type Clock, systemClock, type TimerHandle } from "../clock.ts";
import type { ActorRef, ActorRuntime } from "./actor-runtime.ts";

/** How long an actor with nothing to handle keeps its nact actor, by default: between this and twice this. */
export const DEFAULT_PARK_AFTER_MS = 1_000;

/** Options of {@link NactRuntime}. */
export interface NactRuntimeOptions {
  /**
   * An actor with nothing left to handle gives its nact actor back after
   * between this and twice this many ms without a message; 0 gives it back
   * at once, after its last message.
   */
  parkAfterMs?: number;
  /** The clock the parking sweep runs on (tests move a manual one). */
  clock?: Clock;
}

/**
 * ActorRuntime on nact. Every actor is a direct child of the system, which
 * handles no messages: nact copies a parent's children map per message it
 * handles, so agents must never be children of a busy actor.
 */
export class NactRuntime implements ActorRuntime {
  private readonly system = nact.start();
  private closed = false;
  private live = 0;
  private readonly parkAfterMs: number;
  private readonly clock: Clock;
  /** Sweeps so far: an actor idle since an earlier sweep than the last one is parked at the next. */
  private sweeps = 0;
  /** Actors that went idle holding their nact actor (some may have had a message since: the sweep checks). */
  private readonly idle = new Set<ParkingActor<never>>();
  private sweepTimer: TimerHandle | undefined;

  constructor(opts: NactRuntimeOptions = {}) {
    this.parkAfterMs = opts.parkAfterMs ?? DEFAULT_PARK_AFTER_MS;
    this.clock = opts.clock ?? systemClock;
  }

  spawn<M>(name: string, handle: (message: M) => Promise<void>, onError: (error: unknown, message: M) => void): ActorRef<M> {
    return new ParkingActor(this, name, handle, onError);
  }

  /** @internal The nact actor behind a ParkingActor, spawned as a child of the system; null once the runtime is closed. */
  spawnNact<M>(name: string, f: (message: M) => Promise<void>, onCrash: (error: unknown, message: M) => void): nact.Ref<M> | null {
    if (this.closed) return null;
    this.live++;
    return nact.spawn(this.system, async (state: undefined, message: M) => {
      await f(message);
      return state;
    }, name, {
      onCrash: (message, error, ctx) => {
        onCrash(error, message as M);
        return ctx.resume;
      },
    });
  }

  /** @internal Stops a nact actor spawnNact made. */
  stopNact(ref: nact.Ref<never>): void {
    this.live--;
    nact.stop(ref);
  }

  /**
   * @internal `actor` has handled its last message: it parks now, or (with
   * a parking delay) at the second sweep that finds it still idle.
   */
  wentIdle(actor: ParkingActor<never>): void {
    if (this.parkAfterMs === 0 || this.closed) return actor.park();
    actor.idleSince = this.sweeps;
    this.idle.add(actor);
    this.sweepTimer ??= this.clock.setTimeout(this.sweep, this.parkAfterMs);
  }

  /** @internal `actor` is stopped for good: the sweep need not look at it. */
  forget(actor: ParkingActor<never>): void {
    this.idle.delete(actor);
  }

  /**
   * Parks the actors idle since before the previous sweep. An actor busy
   * again leaves the set (it comes back when idle); one idle for less than
   * a full period stays for the next sweep.
   */
  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const sweep = ++this.sweeps;
    for (const actor of this.idle) {
      if (!actor.isIdle()) this.idle.delete(actor);
      else if (actor.idleSince < sweep - 1) {
        this.idle.delete(actor);
        actor.park();
      }
    }
    if (this.idle.size > 0 && !this.closed) this.sweepTimer = this.clock.setTimeout(this.sweep, this.parkAfterMs);
  };

  /** nact actors alive now: one per actor with messages told and not yet handled, or idle for less than the parking delay. */
  liveActors(): number {
    return this.live;
  }

  close(): void {
    this.closed = true;
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    this.idle.clear();
    nact.stop(this.system);
  }
}

/**
 * An actor whose nact actor exists only while it is in use: once it has had
 * nothing to handle for the runtime's parking delay (1–2 s by default) the
 * nact actor is stopped, and the next `tell` spawns a fresh one under the
 * same name. A nact actor (two maps, a queue, a path, a reference and a
 * logger) costs an idle agent about 2 KB, and most active agents are idle.
 * Stopping it as soon as the last message was handled, though, meant a
 * spawn and a stop per message for an agent messaged every few ms: a third
 * of a busy host's CPU per message in the worst case measured (allocation
 * and GC), hence the delay.
 *
 * Still one message at a time, in order: a new nact actor is spawned only
 * when the previous one is gone, and one is stopped only when it has no
 * message left, queued or running (its last handler has returned), in the
 * same tick that forgets it, so no `tell` can reach a stopped actor (nact
 * drops those silently).
 */
class ParkingActor<M> implements ActorRef<M> {
  private ref: nact.Ref<M> | null = null;
  /** Messages told and not yet handled, the running one included. */
  private outstanding = 0;
  private stopped = false;
  /** @internal The runtime's sweep count when the last message was handled (set by the runtime). */
  idleSince = 0;

  constructor(
    private readonly runtime: NactRuntime,
    private readonly name: string,
    private readonly handle: (message: M) => Promise<void>,
    private readonly onError: (error: unknown, message: M) => void,
  ) {}

  tell(message: M): void {
    if (this.stopped) return;
    if (!this.ref) {
      this.ref = this.runtime.spawnNact(this.name, this.run, this.onError);
      if (!this.ref) return;
    }
    this.outstanding++;
    nact.dispatch(this.ref, message);
  }

  stop(): void {
    this.stopped = true;
    this.park();
    // Not kept for the next sweep: its handler holds the whole agent.
    this.runtime.forget(this as ParkingActor<never>);
  }

  /** @internal Holding a nact actor with no message queued or running. */
  isIdle(): boolean {
    return this.ref !== null && this.outstanding === 0;
  }

  /** @internal Stops the nact actor, if any; the next `tell` spawns a new one. */
  park(): void {
    const ref = this.ref;
    if (!ref) return;
    this.ref = null;
    this.outstanding = 0;
    this.runtime.stopNact(ref);
  }

  private readonly run = async (message: M): Promise<void> => {
    try {
      await this.handle(message);
    } finally {
      // The last message handled: nothing is queued behind it.
      if (this.outstanding > 0 && --this.outstanding === 0) this.runtime.wentIdle(this as ParkingActor<never>);
    }
  };
}
