import type { AgentEventRecord } from "@colony/actors";

/** What a live stream writes next: an event, or word that it missed some. */
export type BufferedEvent = { kind: "event"; rec: AgentEventRecord } | { kind: "lagged"; missed: number };

/** Events one live stream holds for a client that reads slower than the agent works. */
export const DEFAULT_STREAM_BUFFER = 1_000;

/**
 * The per-stream buffer between the bus and a client's connection: at most
 * `max` events wait; past that, events are counted instead of kept, and
 * the client is told how many it missed, where it missed them. A reader
 * that stops reading costs the host a bounded amount of memory.
 */
export class BoundedEventBuffer {
  private items: BufferedEvent[] = [];
  private events = 0;
  private missed = 0;

  constructor(
    private readonly max: number = DEFAULT_STREAM_BUFFER,
    private readonly onPush: () => void = () => {},
  ) {}

  push(rec: AgentEventRecord): void {
    if (this.events >= this.max) {
      this.missed++;
      return;
    }
    this.noteMissed();
    this.items.push({ kind: "event", rec });
    this.events++;
    this.onPush();
  }

  /** Everything waiting, oldest first, with a `lagged` entry where events were dropped. */
  take(): BufferedEvent[] {
    this.noteMissed();
    const out = this.items;
    this.items = [];
    this.events = 0;
    return out;
  }

  get isEmpty(): boolean {
    return this.items.length === 0 && this.missed === 0;
  }

  private noteMissed(): void {
    if (this.missed === 0) return;
    this.items.push({ kind: "lagged", missed: this.missed });
    this.missed = 0;
  }
}
