import { ColonyError, isColonyError, ValidationError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Envelope } from "./envelope.ts";
import { decodeEnvelope, encodeEnvelope } from "./envelope-codec.ts";
import { encodeErrorReply, replyEnvelope } from "./errors-wire.ts";
import { asRedisUnavailable } from "../store/redis-client.ts";
import type { ConnectionStatus, Handler } from "./transport.ts";

/** Which way an envelope crossed this transport (colony_transport_messages_total{direction}). */
export type MessageDirection = "in" | "out";

/** Options every transport takes. */
export interface TransportOptions {
  /** Where handler failures, invalid inbound bytes and status changes are logged. Default: silentLogger. */
  logger?: Logger;
  /** Called once per envelope sent ("out": publish, request, reply) and received ("in": delivery, reply). */
  onMessage?: (direction: MessageDirection) => void;
  /** How long close() waits for handlers already running to finish and send their replies. Default 2,000 ms. */
  drainTimeoutMs?: number;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 2_000;

/** The sending process's name goes into reply envelopes' `from`: 1 to 160 characters. */
export function checkName(name: string): string {
  if (typeof name !== "string" || name.length < 1 || name.length > 160) {
    throw new ValidationError(`transport name must be 1 to 160 characters; got ${JSON.stringify(name)}`, { field: "name" });
  }
  return name;
}

export function checkTimeout(timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1) {
    throw new ValidationError(`timeoutMs must be a finite number ≥ 1; got ${timeoutMs}`, { field: "timeoutMs" });
  }
  return timeoutMs;
}

/** The current status and its listeners; "closed" is final. */
export class StatusCell {
  private current: ConnectionStatus = "connected";
  private readonly listeners: Array<(status: ConnectionStatus) => void> = [];

  constructor(private readonly logger: Logger) {}

  get(): ConnectionStatus {
    return this.current;
  }

  on(listener: (status: ConnectionStatus) => void): void {
    this.listeners.push(listener);
  }

  set(status: ConnectionStatus): void {
    if (status === this.current || this.current === "closed") return;
    this.current = status;
    this.logger.info({ status }, `transport ${status}`);
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (e) {
        this.logger.error({ err: errorMessage(e) }, "a transport status listener threw");
      }
    }
  }
}

/** Work in flight (inbound handlers), so close() can let it finish. */
export class InFlight {
  private readonly work = new Set<Promise<unknown>>();

  get size(): number {
    return this.work.size;
  }

  add(p: Promise<unknown>): void {
    this.work.add(p);
    const done = () => this.work.delete(p);
    p.then(done, done);
  }

  /** Resolves true once nothing is in flight, or false after `ms`; leaves no timer behind. */
  async settle(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (this.work.size > 0) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
      });
      await Promise.race([Promise.allSettled([...this.work]), expired]);
      clearTimeout(timer);
    }
    return true;
  }
}

/** Requests waiting for a reply, so close() can reject them at once. */
export class PendingRequests {
  private readonly aborts = new Set<(e: Error) => void>();

  get size(): number {
    return this.aborts.size;
  }

  /** Registers the abort of one request; returns what unregisters it once the request settles. */
  add(abort: (e: Error) => void): () => void {
    this.aborts.add(abort);
    return () => this.aborts.delete(abort);
  }

  /** Settles like `work`, or rejects with the error given to rejectAll(), whichever comes first. */
  track<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = this.add(reject);
      work.then(resolve, reject).finally(done);
    });
  }

  rejectAll(e: Error): void {
    for (const abort of this.aborts) abort(e);
    this.aborts.clear();
  }
}

export interface InboundContext {
  /** The subject the message arrived on (for logs). */
  subject: string;
  /** This transport's name: the `from` of its replies. */
  from: string;
  logger: Logger;
}

/**
 * Runs `handler` on inbound bytes and, for a request, returns the encoded
 * reply: the handler's return value as a "reply" envelope, or what it threw
 * as an "error" envelope. Never throws: invalid bytes and failing handlers
 * are logged, and a requester always gets an answer it can decode.
 */
export async function handleInbound(bytes: Uint8Array, handler: Handler, wantsReply: boolean, ctx: InboundContext): Promise<Uint8Array | undefined> {
  let request: Envelope;
  try {
    request = decodeEnvelope(bytes);
  } catch (e) {
    ctx.logger.warn({ subject: ctx.subject, bytes: bytes.length, err: errorMessage(e) }, "dropped an invalid inbound envelope");
    return wantsReply ? encodeErrorReply(undefined, ctx.from, e) : undefined;
  }
  let body: unknown;
  try {
    body = await handler(request);
  } catch (thrown) {
    // Redis unreachable is a retryable answer (503 at the edge), not a handler bug.
    const e = asRedisUnavailable(thrown);
    const fields = { subject: ctx.subject, kind: request.kind, id: request.id, from: request.from, err: errorMessage(e) };
    if (!isColonyError(e)) ctx.logger.error({ ...fields, stack: e instanceof Error ? e.stack : undefined }, "handler failed");
    else if (wantsReply) ctx.logger.debug({ ...fields, code: e.code }, "handler answered with an error");
    else ctx.logger.warn({ ...fields, code: e.code }, "handler failed on a message nobody waits for");
    return wantsReply ? encodeErrorReply(request, ctx.from, e) : undefined;
  }
  if (!wantsReply) return undefined;
  try {
    return encodeEnvelope(replyEnvelope(request, ctx.from, body));
  } catch (e) {
    ctx.logger.warn({ subject: ctx.subject, kind: request.kind, id: request.id, err: errorMessage(e) }, "the handler's reply cannot be sent");
    return encodeErrorReply(request, ctx.from, e instanceof ColonyError ? e : new ColonyError("internal", "terminal", errorMessage(e)));
  }
}
