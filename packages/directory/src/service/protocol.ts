import { z } from "zod";
import { heartbeatSchema } from "../membership/host-info.ts";

/**
 * The directory's request vocabulary on `colony.dir` (queue group
 * `colony-directory`). Each body is parsed with zod on arrival.
 */
export const DIR = {
  lookup: "dir.lookup",
  release: "dir.release",
  drain: "dir.drain",
  leave: "dir.leave",
  hosts: "dir.hosts",
} as const;

const agentSchema = z.string().min(3).max(200);
const hostSchema = z.string().min(1).max(128);

export const placementSchema = z.object({ agent: z.string(), host: z.string(), epoch: z.number().int(), since: z.number() });

/** Where is `agent`? With `place`, an unplaced (or orphaned) agent is placed now. */
export const lookupRequestSchema = z.object({ agent: agentSchema, place: z.boolean(), requester: hostSchema.optional() });
export const lookupReplySchema = z.object({ placement: placementSchema.nullable() });

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

/** Requests a directory sends to hosts, on `colony.host.<id>`. */
export const HOST = {
  send: "agent.send",
  get: "agent.get",
  activate: "agent.activate",
  evict: "agent.evict",
  decide: "agent.decide",
  resume: "agent.resume",
  /** The directory's liveness probe: answered with the host's heartbeat. */
  ping: "host.ping",
} as const;

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
