import * as nact from "nact";
import type { ActorRef, ActorRuntime } from "./actor-runtime.ts";

/**
 * ActorRuntime on nact. Every actor is a direct child of the system, which
 * handles no messages: nact copies a parent's children map per message it
 * handles, so agents must never be children of a busy actor.
 */
export class NactRuntime implements ActorRuntime {
  private readonly system = nact.start();

  spawn<M>(name: string, handle: (message: M) => Promise<void>, onError: (error: unknown, message: M) => void): ActorRef<M> {
    const ref = nact.spawn(
      this.system,
      async (state: undefined, message: M) => {
        await handle(message);
        return state;
      },
      name,
      {
        onCrash: (message, error, ctx) => {
          onError(error, message as M);
          return ctx.resume;
        },
      },
    );
    return {
      tell: (message) => nact.dispatch(ref, message),
      stop: () => nact.stop(ref),
    };
  }

  close(): void {
    nact.stop(this.system);
  }
}
