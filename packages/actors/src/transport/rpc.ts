import type { z } from "zod";
import { NotFoundError } from "../errors.ts";
import type { Envelope } from "./envelope.ts";
import { newMessageId } from "../ids.ts";
import type { Handler, Subscription, Transport } from "./transport.ts";
import type { Rpc } from "./rpc-definition.ts";

export type { Rpc } from "./rpc-definition.ts";
export { defineRpc } from "./rpc-definition.ts";

export type RpcRequest<R extends Rpc> = z.input<R["request"]>;
export type RpcReply<R extends Rpc> = z.output<R["reply"]>;

export interface CallOptions {
  /** The calling process (a host id, a directory id). */
  from: string;
  timeoutMs: number;
  /** The agent the request is about. */
  target?: string;
  /** Keep the id of a request being retried (the receiver deduplicates by it). */
  id?: string;
  /** Now, in epoch ms, from the caller's (injectable) clock. */
  now?: number;
  traceparent?: string;
}

/** Sends `body` as `rpc` to `subject` and answers the parsed reply; rejects as Transport.request does. */
export async function call<R extends Rpc>(transport: Transport, subject: string, rpc: R, body: RpcRequest<R>, o: CallOptions): Promise<RpcReply<R>> {
  const now = o.now ?? Date.now();
  // Built here, validated once: the transport checks every envelope as it encodes it.
  const env: Envelope = { id: o.id ?? newMessageId(now), kind: rpc.kind, from: o.from, deadline: now + o.timeoutMs, body };
  if (o.target !== undefined) env.target = o.target;
  if (o.traceparent !== undefined) env.traceparent = o.traceparent;
  return rpc.reply.parse(await transport.request(subject, env, o.timeoutMs)) as RpcReply<R>;
}

/** A server's handler of one RPC: the parsed body, and the envelope it came in. */
export type RpcHandler<R extends Rpc> = (body: z.output<R["request"]>, env: Envelope) => RpcReply<R> | Promise<RpcReply<R>>;

/** One row of a server's table: built with `handle(rpc, fn)` so the handler's types follow the RPC's. */
export interface RpcRoute {
  readonly rpc: Rpc;
  readonly run: (env: Envelope) => Promise<unknown>;
}

export function handle<R extends Rpc>(rpc: R, fn: RpcHandler<R>): RpcRoute {
  return { rpc, run: async (env) => fn(rpc.request.parse(env.body ?? {}) as z.output<R["request"]>, env) };
}

/** A handler answering each envelope by its kind from `routes`; an unknown kind is a NotFoundError naming `what`. */
export function rpcHandler(what: string, routes: readonly RpcRoute[]): Handler {
  const byKind = new Map(routes.map((r) => [r.rpc.kind, r]));
  if (byKind.size !== routes.length) throw new Error(`${what}: two routes for one RPC kind`);
  return (env) => {
    const route = byKind.get(env.kind);
    if (!route) throw new NotFoundError(`unknown ${what} request "${env.kind}"`);
    return route.run(env);
  };
}

/** Subscribes `routes` on `subject` (see rpcHandler). */
export function serveRpcs(transport: Transport, subject: string, what: string, routes: readonly RpcRoute[], opts?: { queue?: string }): Subscription {
  return transport.subscribe(subject, rpcHandler(what, routes), opts);
}
