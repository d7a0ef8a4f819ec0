/**
 * How long this process has gone without an answer from its store (Redis):
 * one round trip every `intervalMs`, never two at once. A network partition
 * leaves commands hanging rather than failing, and the connection's state
 * stays "ready" meanwhile, so the time since the last answer is what tells a
 * store cut off from one that is merely slow.
 */
export class StoreWatch {
  private lastAnswer: number;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ping: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastAnswer = now();
  }

  /** Starts pinging; the timer never keeps the process alive. */
  start(): this {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Milliseconds since the store last answered (about one interval when all is well). */
  silentMs(): number {
    return Math.max(0, this.now() - this.lastAnswer);
  }

  private tick(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    this.ping()
      .then(
        () => (this.lastAnswer = this.now()),
        () => undefined,
      )
      .finally(() => (this.inFlight = false));
  }
}
