import {
  type ConnectionOptions,
  type Msg,
  type NatsConnection,
  type Subscription as NatsSubscription,
  type Status,
  connect,
} from "nats";
import { UnavailableError, errorMessage } from "../errors.ts";
import { withTimeout } from "../clock.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { fromNatsError } from "./nats-errors.ts";
import { DEFAULT_PING_INTERVAL_MS, DEFAULT_RECONNECT_TIME_WAIT_MS, type NatsTransportOptions } from "./nats-options.ts";
import { onNatsStatus } from "./nats-status.ts";
import { Outbox } from "./outbox.ts";
import { ReplyInbox } from "./nats-replies.ts";

export { DEFAULT_PING_INTERVAL_MS, DEFAULT_RECONNECT_TIME_WAIT_MS, fromNatsError };
export type { NatsTransportOptions };
import { redactUrls } from "../redact.ts";
import type { Envelope } from "./envelope.ts";
import { encodeEnvelope } from "./envelope-codec.ts";
import { readReply } from "./errors-wire.ts";
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  InFlight,
  type MessageDirection,
  StatusCell,
  checkName,
  checkTimeout,
  handleInbound,
} from "./shared.ts";
import { checkQueue, subjectTokens } from "./subject-match.ts";
import type { ConnectionStatus, Handler, Subscription, Transport } from "./transport.ts";

/**
 * The Transport over core NATS (nats.js v2). Every envelope is encoded with
 * the envelope codec; replies and error replies go back on the request's
 * reply subject; subscriptions use callbacks (no per-subscription iterator).
 *
 * Connection choices:
 * - `noAsyncTraces: true`: no extra Error (stack trace) per request, ~1.6×
 *   request throughput (measured with nats.js 2.x on this project's bench); our errors carry the subject instead.
 * - `maxReconnectAttempts: -1`, `reconnectTimeWait: 250 ms`: a host never
 *   gives up on NATS and finds a restarted server quickly; nats.js resends
 *   its subscriptions by itself (plain, queue groups and the request inbox)
 *   to whichever server it reaches.
 * - A cluster (several URLs, and the servers the cluster gossips): the list
 *   is shuffled (`noRandomize: false`) so processes spread over the nodes;
 *   when a node dies its clients move to the next one at once (nodes not
 *   tried in the last reconnectTimeWait are dialled without waiting). Every
 *   move is logged with the server left and the one reached.
 * - `waitOnFirstConnect: true` (overridable): start order does not matter.
 * - `pingInterval: 10 s`: a half-open connection is noticed in ~20–30 s.
 * - Requests wait for their replies on one inbox subscription (nats-replies.ts).
 * - Publishes, requests and replies reach nats.js through an Outbox: those
 *   of one event-loop round share a socket write (see outbox.ts).
 *
 * While disconnected, request() and flush() reject at once with
 * UnavailableError (retryable) rather than waiting out their timeout;
 * publish() is buffered by nats.js and sent on reconnect (at most once).
 * A request already sent when the connection drops keeps waiting: its reply
 * still arrives if the responder answers after this client resubscribed its
 * inbox elsewhere, else it ends in TimeoutError (whether it ran is unknown,
 * as with any timeout).
 */
export class NatsTransport implements Transport {
  readonly name: string;
  private readonly logger: Logger;
  private readonly onMessage: ((direction: MessageDirection) => void) | undefined;
  private readonly drainTimeoutMs: number;
  private readonly cell: StatusCell;
  private readonly subs = new Set<NatsSubscription>();
  private readonly replies: ReplyInbox;
  private readonly inflight = new InFlight();
  private readonly outbox = new Outbox();
  private readonly statusEvents: AsyncIterable<Status>;
  private readonly statusLoop: Promise<void>;
  private closing = false;
  private closePromise: Promise<void> | undefined;
  /** The server this connection last reached (host:port), for the failover logs. */
  private lastServer: string;

  private constructor(
    private readonly nc: NatsConnection,
    opts: NatsTransportOptions,
  ) {
    this.name = opts.name;
    this.logger = (opts.logger ?? silentLogger).child({ transport: opts.name });
    this.onMessage = opts.onMessage;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.cell = new StatusCell(this.logger);
    this.lastServer = nc.getServer();
    this.replies = new ReplyInbox(nc, this.logger);
    this.statusEvents = nc.status();
    this.statusLoop = this.watchStatus();
    void nc.closed().then((err) => {
      if (err) this.logger.error({ err: redactUrls(errorMessage(err)) }, "NATS connection closed with an error");
      this.replies.rejectAll(new UnavailableError(`transport ${this.name} is closed`));
      this.cell.set("closed");
      // nats.js 2.29 does not end status() iterators when the connection closes: end ours.
      (this.statusEvents as Partial<{ stop(): void }>).stop?.();
    });
  }

  /** Connects to NATS; see the class comment for the options chosen. */
  static async connect(opts: NatsTransportOptions): Promise<NatsTransport> {
    checkName(opts.name);
    const options: ConnectionOptions = {
      servers: opts.servers,
      name: opts.name,
      noAsyncTraces: true,
      noRandomize: false,
      maxReconnectAttempts: -1,
      reconnectTimeWait: opts.reconnectTimeWaitMs ?? DEFAULT_RECONNECT_TIME_WAIT_MS,
      waitOnFirstConnect: opts.waitOnFirstConnect ?? true,
      pingInterval: opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
      ...(opts.connectTimeoutMs !== undefined ? { timeout: opts.connectTimeoutMs } : {}),
    };
    let nc: NatsConnection;
    try {
      nc = await connect(options);
    } catch (e) {
      throw new UnavailableError(`cannot connect to NATS at ${redactUrls(String(opts.servers))}: ${redactUrls(errorMessage(e))}`, { cause: e });
    }
    return new NatsTransport(nc, opts);
  }

  /** Follows nats.js status events until the connection closes. */
  private async watchStatus(): Promise<void> {
    try {
      for await (const s of this.statusEvents) {
        onNatsStatus(s, this.logger, {
          disconnected: () => this.cell.set("disconnected"),
          reconnected: (server) => this.onReconnect(server),
        });
      }
    } catch (e) {
      this.logger.error({ err: errorMessage(e) }, "NATS status stream failed");
    }
  }

  /** Logs where the connection went (a switch when another node answered), then reports "connected". */
  private onReconnect(server: string): void {
    const previous = this.lastServer;
    this.lastServer = server;
    const fields = { server: redactUrls(server), previous: redactUrls(previous) };
    if (server !== previous) this.logger.warn(fields, "NATS switched to another server");
    else this.logger.info(fields, "NATS reconnected to the same server");
    this.cell.set("connected");
  }

  status(): ConnectionStatus {
    return this.cell.get();
  }

  /** The server (host:port) this connection uses now, or last used while disconnected. */
  server(): string {
    return this.nc.getServer();
  }

  onStatus(listener: (status: ConnectionStatus) => void): void {
    this.cell.on(listener);
  }

  private count(direction: MessageDirection): void {
    this.onMessage?.(direction);
  }

  private unavailable(): UnavailableError {
    return this.closing || this.nc.isClosed()
      ? new UnavailableError(`transport ${this.name} is closed`)
      : new UnavailableError(`transport ${this.name} is disconnected from NATS`);
  }

  publish(subject: string, envelope: Envelope): void {
    subjectTokens(subject, { wildcards: false });
    if (this.closing || this.nc.isClosed()) throw this.unavailable();
    const bytes = encodeEnvelope(envelope);
    this.outbox.add(() => this.send(subject, bytes));
    this.count("out");
  }

  /** Hands a publish or reply to nats.js; at most once, as every publish (a connection closed meanwhile drops it). */
  private send(subject: string, bytes: Uint8Array): void {
    try {
      this.nc.publish(subject, bytes);
    } catch (e) {
      this.logger.warn({ subject, err: errorMessage(fromNatsError(e, subject)) }, "could not send a message");
    }
  }

  async request(subject: string, envelope: Envelope, timeoutMs: number): Promise<unknown> {
    subjectTokens(subject, { wildcards: false });
    checkTimeout(timeoutMs);
    if (this.closing || this.nc.isClosed()) throw this.unavailable();
    const bytes = encodeEnvelope(envelope);
    if (this.cell.get() !== "connected") throw this.unavailable();
    this.count("out");
    let msg: Msg;
    try {
      msg = await new Promise<Msg>((resolve, reject) => {
        const token = this.replies.expect(subject, timeoutMs, resolve, reject);
        this.outbox.add(() => {
          // close() already refused it (its caller retries elsewhere): never sent.
          if (this.closing) return this.replies.fail(token, this.unavailable());
          try {
            this.nc.publish(subject, bytes, { reply: this.replies.subject(token) });
          } catch (e) {
            this.replies.fail(token, e);
          }
        });
      });
    } catch (e) {
      throw fromNatsError(e, subject, timeoutMs);
    }
    this.count("in");
    return readReply(msg.data, subject);
  }

  subscribe(subject: string, handler: Handler, opts: { queue?: string } = {}): Subscription {
    subjectTokens(subject, { wildcards: true });
    const queue = opts.queue === undefined ? undefined : checkQueue(opts.queue);
    if (this.closing || this.nc.isClosed()) throw this.unavailable();
    let sub: NatsSubscription;
    try {
      sub = this.nc.subscribe(subject, {
        ...(queue === undefined ? {} : { queue }),
        callback: (err, msg) => {
          if (err) {
            this.logger.error({ subject, err: errorMessage(err) }, "NATS subscription error");
            return;
          }
          this.deliver(handler, msg);
        },
      });
    } catch (e) {
      throw fromNatsError(e, subject);
    }
    this.subs.add(sub);
    return {
      unsubscribe: () => {
        this.subs.delete(sub);
        if (!sub.isClosed()) sub.unsubscribe();
      },
    };
  }

  private deliver(handler: Handler, msg: Msg): void {
    this.count("in");
    const reply = msg.reply;
    const work = handleInbound(msg.data, handler, Boolean(reply), { subject: msg.subject, from: this.name, logger: this.logger }).then((out) => {
      if (!out || !reply) return;
      this.outbox.add(() => this.send(reply, out));
      this.count("out");
    });
    this.inflight.add(work);
  }

  async flush(): Promise<void> {
    if (this.closing || this.nc.isClosed() || this.cell.get() !== "connected") throw this.unavailable();
    // What was published before this call goes out before the flush's PING.
    this.outbox.flush();
    try {
      await this.nc.flush();
    } catch (e) {
      throw fromNatsError(e, "(flush)");
    }
  }

  /**
   * Stops taking new messages (subscriptions drain: what already arrived is
   * still handled), rejects this transport's pending requests with
   * UnavailableError, waits up to drainTimeoutMs for running handlers to
   * reply, then drains the connection (flushes what was published) and
   * closes it. Bounded even while NATS is down. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.replies.rejectAll(this.unavailable());
    const deadline = performance.now() + this.drainTimeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    if (!this.nc.isClosed()) {
      const connected = this.cell.get() === "connected";
      const subs = [...this.subs];
      this.subs.clear();
      if (connected) {
        await withTimeout(Promise.allSettled(subs.map((s) => Promise.resolve().then(() => s.drain()))), left(), () => undefined);
      } else {
        for (const s of subs) if (!s.isClosed()) s.unsubscribe();
      }
      if (!(await this.inflight.settle(left()))) {
        this.logger.warn({ handlers: this.inflight.size, drainTimeoutMs: this.drainTimeoutMs }, "closing with handlers still running");
      }
      // Replies and publishes still queued reach nats.js before its drain or close.
      this.outbox.flush();
      // drain() flushes what handlers published; it needs the server, so it is bounded.
      if (connected && this.cell.get() === "connected") {
        const drained = await withTimeout(
          this.nc.drain().then(
            () => true,
            () => false,
          ),
          left(),
          () => false,
        );
        if (!drained) this.logger.warn({}, "NATS drain did not finish; closing");
      }
      if (!this.nc.isClosed()) await this.nc.close();
    }
    await this.nc.closed();
    await this.statusLoop;
    this.cell.set("closed");
  }
}
