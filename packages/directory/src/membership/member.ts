import type { Heartbeat, HostInfo } from "./host-info.ts";

/**
 * `suspected`: silent past `suspectAfterMs` and probed; still a member (its
 * agents stay put) but given no new placements. `left` is a graceful leave;
 * `dead` is a host the failure detector gave up on.
 */
export type MemberStatus = "alive" | "suspected" | "dead" | "left";

/** A host as `all()` reports it: its last heartbeat and what the directory made of it. */
export interface Member extends HostInfo {
  readonly status: MemberStatus;
  /** When it entered this status (directory clock): joined, rejoined, died or left. */
  readonly statusSince: number;
}

/** What one heartbeat did to the table. Every change but `heartbeat` and `ignored` bumps the version. */
export type ObserveResult =
  /** A new member: an unknown id, or a new incarnation of a host that was already dead or gone. */
  | { readonly change: "joined"; readonly member: Member }
  /**
   * A new incarnation of a live member: the old process is gone (its
   * activations with it) and `previous` should be failed over like a death.
   */
  | { readonly change: "restarted"; readonly member: Member; readonly previous: Member }
  /** A host declared dead spoke again with the same incarnation (a partition healed). */
  | { readonly change: "rejoined"; readonly member: Member }
  /** Its draining flag or address changed, or a suspected host spoke again. */
  | { readonly change: "updated"; readonly member: Member }
  /** Only its load numbers and last-heard time changed: fresh in the next snapshot, same version. */
  | { readonly change: "heartbeat"; readonly member: Member }
  /**
   * Dropped: a late heartbeat from an incarnation that left (a leave is final
   * for an incarnation), or from one a newer incarnation superseded.
   */
  | { readonly change: "ignored"; readonly reason: "left" | "superseded" };

/** The table's own, mutable entry for one host id. */
export interface MemberRecord {
  /** Frozen, and the very object the snapshots hold: rebuilt once per heartbeat, shared by every snapshot until the next. */
  info: HostInfo;
  status: MemberStatus;
  statusSince: number;
  /** Incarnations of this id that a newer one replaced, newest last: their late heartbeats are ignored. */
  retired: string[];
}

/** Retired incarnations remembered per host id. */
const MAX_RETIRED_INCARNATIONS = 8;

/** The frozen HostInfo a heartbeat heard at `lastHeartbeat` becomes. */
export function freezeInfo(hb: Heartbeat, lastHeartbeat: number): HostInfo {
  const { id, address, agents, load, draining, incarnation, startedAt } = hb;
  return Object.freeze({ id, address, agents, load, draining, incarnation, startedAt, lastHeartbeat });
}

/** Alive or suspected: still a member, its agents stay put. */
export const isLive = (rec: MemberRecord) => rec.status === "alive" || rec.status === "suspected";

/** Orders members by host id. */
export const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A frozen public view of a record. */
export function toMember(rec: MemberRecord): Member {
  return Object.freeze({ ...rec.info, status: rec.status, statusSince: rec.statusSince });
}

/** Puts a record in `status` as of `now`. */
export function moveTo(rec: MemberRecord, status: MemberStatus, now: number): void {
  rec.status = status;
  rec.statusSince = now;
}

/** A new incarnation of the host replaces the current one, which is remembered as retired; alive as of `now`. */
export function reincarnate(rec: MemberRecord, info: HostInfo, now: number): void {
  rec.retired.push(rec.info.incarnation);
  if (rec.retired.length > MAX_RETIRED_INCARNATIONS) rec.retired.shift();
  rec.info = info;
  moveTo(rec, "alive", now);
}
