import { DEDUP_WINDOW } from "../store/driver.ts";
import type { InboxMessage, PendingMessage } from "./state.ts";

/**
 * An activation's accepted messages not yet done, in inbox (seq) order, each
 * at most once: an entry is never queued twice, nor again once its turn
 * completed here (a resend or a client's retry may announce it again).
 */
export class InboxQueue {
  private readonly items: PendingMessage[];
  /**
   * Seqs whose turns completed in this activation (the latest ones), in
   * ascending order so a lookup is a binary search: an array costs an idle
   * agent less than a set. Turns complete in seq order, so a new one is
   * almost always appended at the end.
   */
  private done: number[] = [];

  constructor(initial: readonly PendingMessage[]) {
    this.items = [...initial].sort((a, b) => a.seq - b.seq);
  }

  get length(): number {
    return this.items.length;
  }

  /** Whether the entry is queued or already done here. */
  knows(seq: number): boolean {
    return this.isDone(seq) || this.items.some((p) => p.seq === seq);
  }

  hasMessage(messageId: string): boolean {
    return this.items.some((p) => p.message.messageId === messageId);
  }

  /** Queues the entry in seq order; false if it was queued or done already. */
  add(seq: number, message: InboxMessage): boolean {
    if (this.knows(seq)) return false;
    let i = this.items.length;
    while (i > 0 && this.items[i - 1]!.seq > seq) i--;
    this.items.splice(i, 0, { seq, message });
    return true;
  }

  /**
   * The entry to run next: the one of the turn in flight (it goes on with
   * its own message even if an earlier entry, a lost reply's, was queued
   * ahead of it meanwhile), else the earliest.
   */
  next(inFlightSeq: number | undefined): PendingMessage | undefined {
    return (inFlightSeq !== undefined && this.items.find((p) => p.seq === inFlightSeq)) || this.items[0];
  }

  complete(seq: number): void {
    const i = this.items.findIndex((p) => p.seq === seq);
    if (i >= 0) this.items.splice(i, 1);
    const done = this.done;
    // The first one in an exact-size array: most agents go idle after one turn.
    if (done.length === 0) this.done = [seq];
    else if (!this.isDone(seq)) {
      let at = done.length;
      while (at > 0 && done[at - 1]! > seq) at--;
      done.splice(at, 0, seq);
    }
    // The lowest seq leaves the window (a forgotten one is found processed in the store: its inbox entry is gone).
    if (this.done.length > DEDUP_WINDOW) this.done.shift();
  }

  private isDone(seq: number): boolean {
    const done = this.done;
    let lo = 0;
    let hi = done.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = done[mid]!;
      if (v === seq) return true;
      if (v < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}
