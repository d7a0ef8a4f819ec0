import type { ActorRef, ActorRuntime } from "./actor-runtime.ts";

/**
 * One actor: a mailbox handled one message at a time, each in its own
 * macrotask (setImmediate, as nact does, so a busy agent lets I/O through).
 * Small on purpose: an idle actor is this object and its two callbacks,
 * where a nact actor costs about 1.4 KB (its children maps, path, context
 * and last Immediate).
 */
class Mailbox<M> implements ActorRef<M> {
  /** Messages waiting while one is handled; only while there are any. */
  private waiting: M[] | undefined;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly runtime: { readonly closed: boolean },
    private readonly handle: (message: M) => Promise<void>,
    private readonly onError: (error: unknown, message: M) => void,
  ) {}

  private get ended(): boolean {
    return this.stopped || this.runtime.closed;
  }

  tell(message: M): void {
    if (this.ended) return;
    if (this.busy) (this.waiting ??= []).push(message);
    else this.schedule(message);
  }

  /** Drops the waiting messages (and one scheduled, not started); one being handled runs to its end, nothing after it. */
  stop(): void {
    this.stopped = true;
    this.waiting = undefined;
  }

  private schedule(message: M): void {
    this.busy = true;
    setImmediate(() => void this.run(message));
  }

  private async run(message: M): Promise<void> {
    // Stopped before its turn came (nact clears the pending Immediate): not handled.
    if (this.ended) return void (this.busy = false);
    try {
      await this.handle(message);
    } catch (e) {
      this.onError(e, message);
    }
    const waiting = this.ended ? undefined : this.waiting;
    if (!waiting?.length) {
      this.busy = false;
      this.waiting = undefined;
      return;
    }
    this.schedule(waiting.shift()!);
  }
}

/**
 * ActorRuntime of plain mailboxes: the same guarantees as NactRuntime
 * (messages handled one at a time, in order; a throw reported and the next
 * message handled; a stopped actor drops what waits), a fraction of its
 * memory per actor. Names are not kept: nothing looks actors up by name.
 * Closing it stops every actor it spawned.
 */
export class MailboxRuntime implements ActorRuntime {
  closed = false;

  spawn<M>(_name: string, handle: (message: M) => Promise<void>, onError: (error: unknown, message: M) => void): ActorRef<M> {
    return new Mailbox(this, handle, onError);
  }

  close(): void {
    this.closed = true;
  }
}
