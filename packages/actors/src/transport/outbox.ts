/**
 * Sends handed to nats.js together, once the event loop has run this
 * round's ready I/O callbacks (setImmediate), instead of one at a time.
 * nats.js writes its outbound buffer at the end of each microtask
 * checkpoint, so the requests and replies of separate I/O callbacks (each
 * HTTP request, each batch of Redis replies) would cost a socket write each;
 * queued here, a round's share one. Measured: NATS was two thirds of a
 * host's socket-write time under 64 messages in flight. The added wait is
 * the rest of the current round, microseconds when idle.
 *
 * Order is kept: sends run in the order they were queued. Whatever needs
 * them on the wire first (a flush's PING, a drain, a close) calls `flush()`.
 */
export class Outbox {
  private queue: (() => void)[] = [];
  private scheduled = false;

  /** Queues `send` (which must not throw) for the end of this round. */
  add(send: () => void): void {
    this.queue.push(send);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Runs every queued send now, in order. */
  readonly flush = (): void => {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = [];
    for (const send of queued) send();
  };
}
