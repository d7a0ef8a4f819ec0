import { z } from "zod";
import { defineRpc } from "@colony/actors/rpc-definition";
import { heartbeatSchema } from "../membership/host-info.ts";

const agentSchema = z.string().min(3).max(200);
const hostSchema = z.string().min(1).max(128);

export const placementSchema = z.object({ agent: z.string(), host: z.string(), epoch: z.number().int(), since: z.number() });

/** Where is `agent`? With `place`, an unplaced (or orphaned) agent is placed now. */
export const lookupRequestSchema = z.object({ agent: agentSchema, place: z.boolean(), requester: hostSchema.optional() });
export const lookupReplySchema = z.object({ placement: placementSchema.nullable() });

/** Most lookups one `lookupMany` carries; a host sends more as several batches. */
export const MAX_LOOKUP_BATCH = 256;

/** Why one lookup of a batch failed: the fields of a wire error a caller branches on. */
export const lookupErrorSchema = z.object({
  code: z.string(),
  action: z.enum(["terminal", "retryable", "reroute"]),
  message: z.string().max(1_000),
  retryAfterMs: z.number().optional(),
});

/** Several lookups from one host, answered together, in order (see directoryRpcs.lookupMany). */
export const lookupManyRequestSchema = z.object({
  lookups: z.array(z.object({ agent: agentSchema, place: z.boolean() })).min(1).max(MAX_LOOKUP_BATCH),
  requester: hostSchema.optional(),
});
/** One result per lookup, in the request's order: its placement, or why it failed. */
export const lookupManyReplySchema = z.object({
  results: z.array(z.union([z.object({ placement: placementSchema.nullable() }), z.object({ error: lookupErrorSchema })])),
});
export type LookupManyResult = z.infer<typeof lookupManyReplySchema>["results"][number];
export type LookupError = z.infer<typeof lookupErrorSchema>;

/**
 * An activation ended on `host` at `epoch` (passivated, drained). With
 * `reactivate` (messages still wait in its inbox) it is placed again at once
 * and the new host is told to activate it.
 */
export const releaseRequestSchema = z.object({ agent: agentSchema, host: hostSchema, epoch: z.number().int(), reactivate: z.boolean() });
export const releaseReplySchema = z.object({ released: z.boolean(), placement: placementSchema.nullable() });

/** A host stops taking new placements (SIGTERM), or leaves membership. */
export const hostRequestSchema = z.object({ host: hostSchema });

export const hostsReplySchema = z.object({
  version: z.number(),
  hosts: z.array(heartbeatSchema.extend({ lastHeartbeat: z.number(), status: z.enum(["alive", "suspected", "draining", "dead", "left"]) })),
});
export type HostsReply = z.infer<typeof hostsReplySchema>;

/** The answer of a request that only needs to be done. */
export const okReplySchema = z.object({ ok: z.literal(true) });

/**
 * Where the directory announces hosts that are gone (dead, left, or
 * replaced by a restart): every host drops its cached routes to them at
 * once, and stops waiting on requests in flight to them.
 */
export const MEMBERSHIP_SUBJECT = "colony.membership";
export const MEMBERSHIP_EVENT = "dir.membership";
export const membershipEventSchema = z.object({
  version: z.number(),
  /** Host ids whose placements are void (their agents move or moved elsewhere). */
  down: z.array(hostSchema),
});
export type MembershipEvent = z.infer<typeof membershipEventSchema>;

export const decideRequestSchema = z.object({ callId: z.string(), approve: z.boolean(), reason: z.string().max(2000).optional() });

export const activateRequestSchema = z.object({ epoch: z.number().int(), reason: z.enum(["new", "restore", "failover"]) });

/**
 * The directory's requests on `colony.dir` (queue group `colony-directory`),
 * each defined once: kind, request body, reply body (see @colony/actors rpc).
 */
export const directoryRpcs = {
  /** Where is `agent`? With `place`, an unplaced (or orphaned) agent is placed now. */
  lookup: defineRpc("dir.lookup", lookupRequestSchema, lookupReplySchema),
  /**
   * Many lookups at once (a host's lookups of one event-loop turn): one
   * request instead of one each. A directory older than this RPC answers
   * "unknown directory request"; the client then falls back to `lookup`.
   */
  lookupMany: defineRpc("dir.lookupMany", lookupManyRequestSchema, lookupManyReplySchema),
  release: defineRpc("dir.release", releaseRequestSchema, releaseReplySchema),
  /** The host stops taking new placements (SIGTERM). */
  drain: defineRpc("dir.drain", hostRequestSchema, okReplySchema),
  /** The host leaves the membership. */
  leave: defineRpc("dir.leave", hostRequestSchema, okReplySchema),
  hosts: defineRpc("dir.hosts", z.object({}), hostsReplySchema),
};

/** The requests a directory sends to hosts, on `colony.host.<id>` (the hosts' own are in @colony/host's routing). */
export const directoryToHostRpcs = {
  /** Start the agent's activation at this epoch (a failover, a restore after a release). */
  activate: defineRpc("agent.activate", activateRequestSchema, okReplySchema),
  /** The liveness probe: answered with the host's heartbeat ("no responders": its process is gone). */
  ping: defineRpc("host.ping", z.object({}), heartbeatSchema),
};
