import { z } from "zod";

/** What a host says about itself in every heartbeat. */
export const heartbeatSchema = z.object({
  id: z.string(),
  /** Base URL of its admin API, e.g. http://10.0.0.7:8080. */
  address: z.string(),
  /** Live activations on the host. */
  agents: z.number().int().nonnegative(),
  /** Turns running or queued on the host: its current work. */
  load: z.number().nonnegative(),
  /** Draining hosts get no new placements. */
  draining: z.boolean(),
  /** Changes every time the host process starts: a restart is a new member. */
  incarnation: z.string(),
  startedAt: z.number(),
  /** Set on a host's last heartbeat, as it leaves gracefully (SIGTERM, drained). */
  leaving: z.boolean().optional(),
  /**
   * Milliseconds since the host's store (Redis) last answered it. A host cut
   * off from Redis but not from NATS still heartbeats, yet can serve none of
   * its agents: the directory stops counting such heartbeats (see
   * DirectoryService). Absent when the host has no such store.
   */
  storeSilentMs: z.number().nonnegative().optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** A member as the directory knows it. */
export interface HostInfo extends Heartbeat {
  /** When the directory last heard from it (its own clock). */
  lastHeartbeat: number;
}

/**
 * An immutable view of the live members, versioned: the version changes
 * whenever a host joins, leaves, dies or starts/stops draining.
 */
export interface MembershipSnapshot {
  readonly version: number;
  /** Live hosts only (dead ones are gone), sorted by id. */
  readonly hosts: readonly HostInfo[];
}
