import type { Envelope } from "./envelope.ts";

export interface Subscription {
  unsubscribe(): void;
}

export type ConnectionStatus = "connected" | "disconnected" | "closed";

/**
 * Handles an inbound envelope. For a request, the returned value is sent back
 * as the body of a "reply" envelope; a thrown ColonyError goes back as an
 * "error" envelope and is rethrown, rebuilt, on the requesting side.
 */
export type Handler = (envelope: Envelope) => unknown | Promise<unknown>;

/**
 * How Colony processes talk: subjects, publish, request/reply with a
 * deadline, queue groups. Implemented over NATS and in memory; both encode
 * and decode every envelope (msgpackr + zod), so encoding bugs show in fast
 * in-process tests too. Subjects are built only from validated ids.
 */
export interface Transport {
  /** Fire and forget (at most once). */
  publish(subject: string, envelope: Envelope): void;
  /**
   * Sends a request and resolves with the reply envelope's body. Rejects with
   * NoRespondersError (nobody listens: reroute), TimeoutError (no answer in
   * time: the outcome is unknown), PayloadTooLargeError, or the ColonyError
   * the responder threw.
   */
  request(subject: string, envelope: Envelope, timeoutMs: number): Promise<unknown>;
  /** With `queue`, each message goes to one member of the group. */
  subscribe(subject: string, handler: Handler, opts?: { queue?: string }): Subscription;
  status(): ConnectionStatus;
  /** Called on every status change (NATS reconnects by itself). */
  onStatus(listener: (status: ConnectionStatus) => void): void;
  /** Makes sure everything published so far reached the server. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
