/** A handle to a running actor: messages are handled one at a time, in order. */
export interface ActorRef<M> {
  tell(message: M): void;
  stop(): void;
}

/**
 * Colony's own small actor seam. The agent code depends on this, not on nact,
 * which is thinly maintained and may be swapped out.
 */
export interface ActorRuntime {
  /**
   * Starts an actor whose `handle` runs for each message, the next one only
   * after the previous promise settles. A throw is reported to `onError` and
   * the actor goes on with its next message.
   */
  spawn<M>(name: string, handle: (message: M) => Promise<void>, onError: (error: unknown, message: M) => void): ActorRef<M>;
  close(): void;
}
