import { NoRespondersError, TimeoutError, UnavailableError } from "../errors.ts";
import { type Logger, silentLogger } from "../logger.ts";
import type { Envelope } from "./envelope.ts";
import { encodeEnvelope } from "./envelope-codec.ts";
import { readReply } from "./errors-wire.ts";
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  InFlight,
  type MessageDirection,
  PendingRequests,
  StatusCell,
  type TransportOptions,
  checkName,
  checkTimeout,
  handleInbound,
} from "./shared.ts";
import { checkQueue, subjectTokens } from "./subject-match.ts";
import type { BusLink, ReplyTo, SubRecord } from "./memory-bus.ts";
import type { ConnectionStatus, Handler, Subscription, Transport } from "./transport.ts";

export { MemoryBus } from "./memory-bus.ts";

/**
 * A Transport on a MemoryBus; create it with `bus.connect(name)`. Every
 * envelope is encoded on send and decoded on delivery, exactly as over NATS.
 *
 * While disconnected (simulated): publish() drops the message, request()
 * rejects with UnavailableError, and this transport's subscriptions receive
 * nothing (other senders see no responders); they resume on reconnect, as a
 * NATS client resubscribes by itself.
 */
export class MemoryTransport implements Transport {
  readonly name: string;
  private readonly logger: Logger;
  private readonly onMessage: ((direction: MessageDirection) => void) | undefined;
  private readonly drainTimeoutMs: number;
  private readonly cell: StatusCell;
  private readonly subs = new Set<SubRecord & { active: boolean }>();
  private readonly pending = new PendingRequests();
  private readonly inflight = new InFlight();
  private cutOff = false;
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | undefined;

  /** Use `bus.connect(name)`. */
  constructor(
    name: string,
    private readonly link: BusLink,
    opts: TransportOptions = {},
  ) {
    this.name = checkName(name);
    this.logger = (opts.logger ?? silentLogger).child({ transport: name });
    this.onMessage = opts.onMessage;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.cell = new StatusCell(this.logger);
    this.refreshStatus();
  }

  status(): ConnectionStatus {
    return this.cell.get();
  }

  onStatus(listener: (status: ConnectionStatus) => void): void {
    this.cell.on(listener);
  }

  /** This transport alone loses its connection (a partitioned process). */
  simulateDisconnect(): void {
    this.cutOff = true;
    this.refreshStatus();
  }

  /** Undoes simulateDisconnect(); still disconnected while the bus has an outage. */
  simulateReconnect(): void {
    this.cutOff = false;
    this.refreshStatus();
  }

  /** Re-reads the connection state after a change on the bus or this transport. */
  refreshStatus(): void {
    if (this.closed) return;
    this.cell.set(this.connected() ? "connected" : "disconnected");
  }

  private connected(): boolean {
    return !this.closed && !this.cutOff && !this.link.isDown();
  }

  private count(direction: MessageDirection): void {
    this.onMessage?.(direction);
  }

  private unavailable(): UnavailableError {
    return this.closing
      ? new UnavailableError(`transport ${this.name} is closed`)
      : new UnavailableError(`transport ${this.name} is disconnected from the bus`);
  }

  publish(subject: string, envelope: Envelope): void {
    const tokens = subjectTokens(subject, { wildcards: false });
    if (this.closing) throw this.unavailable();
    const bytes = encodeEnvelope(envelope);
    if (!this.connected()) {
      this.logger.debug({ subject, kind: envelope.kind }, "dropped a publish while disconnected");
      return;
    }
    this.count("out");
    this.link.route(subject, tokens, bytes, undefined);
  }

  async request(subject: string, envelope: Envelope, timeoutMs: number): Promise<unknown> {
    const tokens = subjectTokens(subject, { wildcards: false });
    checkTimeout(timeoutMs);
    if (this.closing) throw this.unavailable();
    const bytes = encodeEnvelope(envelope);
    if (!this.connected()) throw this.unavailable();
    const reply = await new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        unregister();
        return true;
      };
      const abort = (e: Error) => {
        if (finish()) reject(e);
      };
      const unregister = this.pending.add(abort);
      const timer = setTimeout(() => abort(new TimeoutError(`no reply on ${subject} within ${timeoutMs} ms`)), timeoutMs);
      // The private inbox: a reply travels back asynchronously and is lost while this transport is disconnected.
      const replyTo: ReplyTo = (out) =>
        setImmediate(() => {
          if (settled || !this.connected()) return;
          this.count("in");
          finish();
          resolve(out);
        });
      this.count("out");
      if (this.link.route(subject, tokens, bytes, replyTo) === 0) abort(new NoRespondersError(subject));
    });
    return readReply(reply, subject);
  }

  subscribe(subject: string, handler: Handler, opts: { queue?: string } = {}): Subscription {
    const tokens = subjectTokens(subject, { wildcards: true });
    const queue = opts.queue === undefined ? undefined : checkQueue(opts.queue);
    if (this.closing) throw this.unavailable();
    const rec: SubRecord & { active: boolean } = {
      tokens,
      pattern: subject,
      queue,
      active: true,
      live: () => rec.active && !this.closing && this.connected(),
      deliver: (actual, bytes, replyTo) => this.deliver(rec, handler, actual, bytes, replyTo),
    };
    this.subs.add(rec);
    this.link.add(rec);
    return {
      unsubscribe: () => {
        rec.active = false;
        this.subs.delete(rec);
        this.link.remove(rec);
      },
    };
  }

  private deliver(rec: SubRecord, handler: Handler, subject: string, bytes: Uint8Array, replyTo: ReplyTo | undefined): void {
    // Checked again on arrival: an unsubscribe or disconnect since routing drops the message, as in NATS.
    if (!rec.live()) return;
    this.count("in");
    const work = handleInbound(bytes, handler, replyTo !== undefined, { subject, from: this.name, logger: this.logger }).then((out) => {
      if (!out || !replyTo) return;
      if (!this.connected()) {
        this.logger.debug({ subject }, "dropped a reply while disconnected");
        return;
      }
      this.count("out");
      replyTo(out);
    });
    this.inflight.add(work);
  }

  /** Everything published so far has been handed to its subscribers' handlers. */
  async flush(): Promise<void> {
    if (this.closing || !this.connected()) throw this.unavailable();
    // Deliveries are setImmediate callbacks in publish order: one more tick runs after them.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * Stops receiving, rejects this transport's pending requests with
   * UnavailableError, lets handlers already running finish and reply (up to
   * drainTimeoutMs), then reports "closed". Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    for (const rec of this.subs) {
      rec.active = false;
      this.link.remove(rec);
    }
    this.subs.clear();
    this.pending.rejectAll(this.unavailable());
    if (!(await this.inflight.settle(this.drainTimeoutMs))) {
      this.logger.warn({ handlers: this.inflight.size, drainTimeoutMs: this.drainTimeoutMs }, "closed with handlers still running");
    }
    this.closed = true;
    this.link.detach();
    this.cell.set("closed");
  }
}
