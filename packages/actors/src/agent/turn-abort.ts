/**
 * What aborts an activation's running turn (a fence, a passed drain
 * deadline), made only while turns run: an AbortController with its signal
 * costs most of a kilobyte, and an idle agent runs none. Aborted once, it
 * stays aborted: every signal it hands out after that is aborted too.
 */
export class TurnAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  private done = false;

  /** The signal of the turns running now (made on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.done;
  }

  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /**
   * No turn runs now: drop the controller (unless aborted); the next turn
   * gets a fresh one. A tool that outlived its turn keeps the old signal,
   * which no longer hears of a fence.
   */
  idle(): void {
    if (!this.done) this.controller = undefined;
  }
}
