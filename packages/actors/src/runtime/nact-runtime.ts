import * as nact from "nact";
import type { ActorRef, ActorRuntime } from "./actor-runtime.ts";

/**
 * ActorRuntime on nact. Every actor is a direct child of the system, which
 * handles no messages: nact copies a parent's children map per message it
 * handles, so agents must never be children of a busy actor.
 */
export class NactRuntime implements ActorRuntime {
  private readonly system = nact.start();
  private closed = false;
  private live = 0;

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

  /** nact actors alive now: one per actor with messages told and not yet handled. */
  liveActors(): number {
    return this.live;
  }

  close(): void {
    this.closed = true;
    nact.stop(this.system);
  }
}

/**
 * An actor whose nact actor exists only while it has messages to handle: the
 * last one handled stops it, and the next `tell` spawns a fresh one under the
 * same name. A nact actor (two maps, a queue, a path, a reference and a
 * logger) costs an idle agent about 2 KB, and most active agents are idle.
 *
 * Still one message at a time, in order: a new nact actor is spawned only
 * when the previous one has no message left, queued or running, and it is
 * stopped from inside its own last handler, in the same tick that forgets
 * it, so no `tell` can reach a stopped actor (nact drops those silently).
 */
class ParkingActor<M> implements ActorRef<M> {
  private ref: nact.Ref<M> | null = null;
  /** Messages told and not yet handled, the running one included. */
  private outstanding = 0;
  private stopped = false;

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
  }

  private readonly run = async (message: M): Promise<void> => {
    try {
      await this.handle(message);
    } finally {
      // The last message handled: nothing is queued behind it, so the nact actor goes now.
      if (this.outstanding > 0 && --this.outstanding === 0) this.park();
    }
  };

  private park(): void {
    const ref = this.ref;
    if (!ref) return;
    this.ref = null;
    this.outstanding = 0;
    this.runtime.stopNact(ref);
  }
}
