import { z } from "zod";
import type { AgentEventRecord, Logger, Subscription, Transport } from "@colony/actors";
import type { TraceStore } from "./trace-store.ts";
import { agentEventRecordSchema, errorMessage, newMessageId, subjects } from "@colony/actors";

/** How long a host's announcement that it follows an agent holds; it repeats it every third of that. */
export const WATCH_TTL_MS = 3_000;
/**
 * How long trace entries wait before they are written: the steps of several
 * turns (of any agents) leave as one script per agent rather than one per
 * turn (3.0 Redis scripts per sequential message when written at the next
 * tick, 2.2 with the delay; the sequential cross-host round trip measured
 * about 6% faster side by side, while Redis commands were auto-pipelined).
 * A trace read on the agent's own host writes what is held first; a reader
 * elsewhere sees an entry at most this much later.
 */
export const TRACE_FLUSH_DELAY_MS = 20;
/** Entries held at most: past this they are written at once, whatever the delay. */
const TRACE_FLUSH_MAX = 1_000;

const watchSchema = z.object({ agent: z.string(), host: z.string(), on: z.boolean(), ttlMs: z.number().int().positive() });

/**
 * Where an agent's events go: every event but text deltas into its durable
 * execution trace, and onto the bus while some host follows the agent live,
 * so a live stream opened on any host sees the turns of an agent running on
 * any other. Nobody following: nothing is encoded or published (a turn emits
 * a handful of events; publishing them all cost a sixth of a host's CPU).
 *
 * A host that follows an agent announces it on `colony.evwatch` to every
 * host (before its stream says "ready": the announcement reaches the server
 * first, so the agent's owner has it before any later message to the agent)
 * and repeats it every WATCH_TTL_MS / 3; a host started later learns of it
 * within that time.
 */
export class AgentEventHub {
  private batch: AgentEventRecord[] = [];
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Agents some host follows: agent → following host → until when. */
  private readonly watched = new Map<string, Map<string, number>>();
  /** Live listeners on this host, by agent. */
  private readonly following = new Map<string, number>();
  private readonly watchSub: Subscription;
  private readonly refresh: NodeJS.Timeout;

  /** `flushDelayMs`: how long trace entries are held (default TRACE_FLUSH_DELAY_MS). */
  constructor(private readonly o: { hostId: string; traces: TraceStore; transport: Transport; logger: Logger; now?: () => number; flushDelayMs?: number }) {
    this.watchSub = o.transport.subscribe(subjects.eventWatch, (env) => {
      const w = watchSchema.safeParse(env.body);
      if (w.success) this.onWatch(w.data.agent, w.data.host, w.data.on, w.data.ttlMs);
    });
    this.refresh = setInterval(() => {
      for (const agent of this.following.keys()) this.announce(agent, true);
    }, WATCH_TTL_MS / 3);
    this.refresh.unref();
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private onWatch(agent: string, host: string, on: boolean, ttlMs: number): void {
    const hosts = this.watched.get(agent) ?? new Map<string, number>();
    if (on) hosts.set(host, this.now() + ttlMs);
    else hosts.delete(host);
    if (hosts.size > 0) this.watched.set(agent, hosts);
    else this.watched.delete(agent);
  }

  /** Whether some host follows the agent now (expired announcements are dropped). */
  private isWatched(agent: string): boolean {
    const hosts = this.watched.get(agent);
    if (!hosts) return false;
    const now = this.now();
    for (const [host, until] of hosts) if (until < now) hosts.delete(host);
    if (hosts.size === 0) this.watched.delete(agent);
    return hosts.size > 0;
  }

  private announce(agent: string, on: boolean): void {
    // Applied here at once too: a follower on the agent's own host needs no round trip.
    this.onWatch(agent, this.o.hostId, on, WATCH_TTL_MS);
    try {
      this.o.transport.publish(subjects.eventWatch, { id: newMessageId(), kind: "agent.watch", from: this.o.hostId, target: agent, deadline: this.now() + WATCH_TTL_MS, body: { agent, host: this.o.hostId, on, ttlMs: WATCH_TTL_MS } });
    } catch (e) {
      this.o.logger.debug({ agent, err: errorMessage(e) }, "watch announcement not published");
    }
  }

  readonly record = (rec: AgentEventRecord): void => {
    if (rec.event.kind !== "text_delta") {
      // Held for a moment, then written in one round trip, off the turns' path (see TRACE_FLUSH_DELAY_MS).
      this.batch.push(rec);
      if (this.batch.length >= TRACE_FLUSH_MAX) void this.flush();
      else if (this.batch.length === 1) this.flushTimer = setTimeout(() => void this.flush(), this.o.flushDelayMs ?? TRACE_FLUSH_DELAY_MS);
    }
    if (!this.isWatched(rec.agent)) return;
    try {
      this.o.transport.publish(subjects.agentEvents(rec.agent), { id: newMessageId(), kind: "agent.event", from: this.o.hostId, target: rec.agent, deadline: rec.at + 60_000, body: rec });
    } catch (e) {
      this.o.logger.debug({ agent: rec.agent, err: errorMessage(e) }, "live event not published");
    }
  };

  /** Writes the pending trace entries; resolves when they are stored (or dropped with a warning). */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const records = this.batch;
    if (records.length === 0) return this.flushing ?? Promise.resolve();
    this.batch = [];
    const previous = this.flushing ?? Promise.resolve();
    const next = previous
      .then(() => this.o.traces.append(records))
      .catch((e) => this.o.logger.warn({ entries: records.length, err: errorMessage(e) }, "trace entries not recorded"));
    this.flushing = next;
    return next;
  }

  /** Live events of one agent, from whichever host runs it; resolves once the subscription and the announcement are in place. */
  async subscribe(agent: string, listener: (rec: AgentEventRecord) => void): Promise<Subscription> {
    const sub = this.o.transport.subscribe(subjects.agentEvents(agent), (env) => {
      const parsed = agentEventRecordSchema.safeParse(env.body);
      if (parsed.success) listener(parsed.data);
    });
    this.following.set(agent, (this.following.get(agent) ?? 0) + 1);
    let open = true;
    const unsubscribe = () => {
      if (!open) return;
      open = false;
      sub.unsubscribe();
      const left = (this.following.get(agent) ?? 1) - 1;
      if (left > 0) return void this.following.set(agent, left);
      this.following.delete(agent);
      this.announce(agent, false);
    };
    this.announce(agent, true);
    try {
      await this.o.transport.flush();
    } catch (e) {
      // The caller gets an error, not the subscription: it must not outlive the request.
      unsubscribe();
      throw e;
    }
    return { unsubscribe };
  }

  /** Stops listening for announcements (shutdown); trace entries still held are dropped: flush() first to keep them. */
  close(): void {
    clearTimeout(this.flushTimer);
    clearInterval(this.refresh);
    this.watchSub.unsubscribe();
  }
}
