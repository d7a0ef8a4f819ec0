import type { TransportOptions } from "./shared.ts";
import { subjectMatches } from "./subject-match.ts";
import { MemoryTransport } from "./memory-transport.ts";

/** Sends an encoded reply back to the requester's private inbox. */
export type ReplyTo = (bytes: Uint8Array) => void;

/** One subscription as the bus sees it. */
export interface SubRecord {
  readonly tokens: readonly string[];
  readonly pattern: string;
  readonly queue: string | undefined;
  /** Whether it may receive now (active, its transport connected and not closing). */
  live(): boolean;
  deliver(subject: string, bytes: Uint8Array, replyTo: ReplyTo | undefined): void;
}

/** What a MemoryTransport may do to its bus. */
export interface BusLink {
  add(rec: SubRecord): void;
  remove(rec: SubRecord): void;
  /** Routes a message to its subscribers; returns how many will receive it (0: no responders). */
  route(subject: string, tokens: readonly string[], bytes: Uint8Array, replyTo: ReplyTo | undefined): number;
  isDown(): boolean;
  detach(): void;
}

/**
 * One in-process "network" with NATS's core semantics: subjects split on
 * ".", `*` and `>` wildcards, queue groups (each message to one member of
 * each group, plus every plain subscriber), request/reply through a private
 * inbox, at-most-once delivery, in order per publisher and subscriber.
 * Delivery is always asynchronous (setImmediate), never inside publish().
 *
 * `simulateOutage()` / `endOutage()` play a NATS server going down and
 * coming back for every transport on the bus; a single transport can be cut
 * off with its own `simulateDisconnect()`.
 */
export class MemoryBus {
  private readonly subs = new Set<SubRecord>();
  private readonly watchers = new Set<() => void>();
  private down = false;

  /** A new transport (one per process or node) on this bus. */
  connect(name: string, opts: TransportOptions = {}): MemoryTransport {
    const watchers = this.watchers;
    let watcher: (() => void) | undefined;
    const link: BusLink = {
      add: (rec) => this.subs.add(rec),
      remove: (rec) => this.subs.delete(rec),
      route: (subject, tokens, bytes, replyTo) => this.route(subject, tokens, bytes, replyTo),
      isDown: () => this.down,
      detach: () => {
        if (watcher) watchers.delete(watcher);
      },
    };
    const transport = new MemoryTransport(name, link, opts);
    watcher = () => transport.refreshStatus();
    watchers.add(watcher);
    return transport;
  }

  /** Every transport on the bus goes "disconnected" (the NATS server is down). */
  simulateOutage(): void {
    this.setDown(true);
  }

  /** The server is back: every transport not cut off on its own is "connected" again. */
  endOutage(): void {
    this.setDown(false);
  }

  get isDown(): boolean {
    return this.down;
  }

  /** Live subscriptions on the bus (a leak check for tests). */
  get subscriptionCount(): number {
    return this.subs.size;
  }

  private setDown(down: boolean): void {
    this.down = down;
    for (const w of [...this.watchers]) w();
  }

  private route(subject: string, tokens: readonly string[], bytes: Uint8Array, replyTo: ReplyTo | undefined): number {
    if (this.down) return 0;
    let receivers = 0;
    const groups = new Map<string, SubRecord[]>();
    for (const rec of this.subs) {
      if (!rec.live() || !subjectMatches(rec.tokens, tokens)) continue;
      if (rec.queue === undefined) {
        receivers++;
        setImmediate(() => rec.deliver(subject, bytes, replyTo));
      } else {
        // As in NATS, a queue group is the pair (subscription subject, queue name).
        const key = `${rec.pattern}\u0000${rec.queue}`;
        const members = groups.get(key);
        if (members) members.push(rec);
        else groups.set(key, [rec]);
      }
    }
    for (const members of groups.values()) {
      const chosen = members[Math.floor(Math.random() * members.length)]!;
      receivers++;
      setImmediate(() => chosen.deliver(subject, bytes, replyTo));
    }
    return receivers;
  }
}
