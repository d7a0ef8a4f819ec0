import type { z } from "zod";

/**
 * One request kind between Colony processes, defined once: its `kind` on
 * the wire, the body a server accepts and the body it answers. `call` builds,
 * sends and parses; `serveRpcs` dispatches and parses. Neither side builds an
 * envelope or parses a body by hand.
 */
export interface Rpc<Req extends z.ZodType = z.ZodType, Rep extends z.ZodType = z.ZodType> {
  readonly kind: string;
  readonly request: Req;
  readonly reply: Rep;
}

export function defineRpc<Req extends z.ZodType, Rep extends z.ZodType>(kind: string, request: Req, reply: Rep): Rpc<Req, Rep> {
  return { kind, request, reply };
}
