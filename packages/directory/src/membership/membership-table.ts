import type { Clock } from "@colony/actors";
import { systemClock } from "@colony/actors";
import { FailureDetector } from "./failure-detector.ts";
import type { Heartbeat, MembershipSnapshot } from "./host-info.ts";
import type { Member, MemberRecord, ObserveResult } from "./member.ts";
import { byId, freezeInfo, isLive, moveTo, reincarnate, toMember } from "./member.ts";
import type { MembershipOptions } from "./options.ts";
import { parseMembershipOptions } from "./options.ts";

export type { Member, MemberStatus, ObserveResult } from "./member.ts";

/**
 * The directory's view of the cluster: who is alive, draining, dead or gone,
 * fed by heartbeats and swept by {@link expire}.
 *
 * Snapshots are immutable and versioned. The version moves on membership
 * changes only (join, restart, rejoin, leave, death, draining or address
 * change), so placement caches keyed on it stay valid across heartbeats;
 * load numbers stay fresh anyway: a heartbeat replaces its host's frozen
 * HostInfo and marks the cached snapshot stale, and the next `snapshot()`
 * rebuilds only the host array (O(live hosts), pointer copies, over an id
 * order that is re-sorted only when membership changes). Between heartbeats
 * `snapshot()` returns the same object, so per-snapshot work can be memoized
 * by identity. Two snapshots with one version can differ in load figures.
 *
 * While paused (the directory lost its own NATS connection, so silence
 * proves nothing) nobody is declared dead; `resume()` restarts every live
 * member's silence from now, a grace period against a failover storm.
 */
export interface MembershipTableOptions extends Partial<MembershipOptions> {
  /** Default: the system clock. Tests pass a ManualClock. */
  clock?: Clock;
}

export class MembershipTable {
  readonly options: MembershipOptions;
  private readonly clock: Clock;
  private readonly detector: FailureDetector;
  private readonly members = new Map<string, MemberRecord>();
  private currentVersion = 0;
  /** Sorted ids of live members; null once membership changed. */
  private liveIds: string[] | null = [];
  /** The snapshot to hand out; null once anything in it changed. */
  private cached: MembershipSnapshot | null = null;
  private isPaused = false;
  /** Hosts living in the directory's own process: never expired (see {@link markLocal}). */
  private readonly local = new Set<string>();

  /** @throws ValidationError naming the option, for a bad or unknown option. */
  constructor({ clock, ...options }: MembershipTableOptions = {}) {
    this.clock = clock ?? systemClock;
    this.options = parseMembershipOptions(options);
    this.detector = new FailureDetector(this.options);
  }

  get version(): number {
    return this.currentVersion;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Records a heartbeat, heard now (the directory's clock, not the host's). */
  observe(heartbeat: Heartbeat): ObserveResult {
    const now = this.clock.now();
    const info = freezeInfo(heartbeat, now);
    const rec = this.members.get(info.id);
    if (!rec) {
      const fresh: MemberRecord = { info, status: "alive", statusSince: now, retired: [] };
      this.members.set(info.id, fresh);
      this.changed();
      return { change: "joined", member: this.member(fresh) };
    }
    if (rec.info.incarnation !== info.incarnation) {
      if (rec.retired.includes(info.incarnation)) return { change: "ignored", reason: "superseded" };
      const previous = this.member(rec);
      reincarnate(rec, info, now);
      this.changed();
      const member = this.member(rec);
      return previous.status === "alive" || previous.status === "suspected" ? { change: "restarted", member, previous } : { change: "joined", member };
    }
    if (rec.status === "left") return { change: "ignored", reason: "left" };
    const before = rec.info;
    rec.info = info;
    if (rec.status === "dead") {
      moveTo(rec, "alive", now);
      this.changed();
      return { change: "rejoined", member: this.member(rec) };
    }
    if (rec.status === "suspected" || before.draining !== info.draining || before.address !== info.address) {
      if (rec.status === "suspected") {
        moveTo(rec, "alive", now);
      }
      this.changed();
      return { change: "updated", member: this.member(rec) };
    }
    this.cached = null;
    return { change: "heartbeat", member: this.member(rec) };
  }

  /**
   * A graceful leave: the host is gone at once, without waiting for the
   * failure timeout. With `incarnation`, only that incarnation leaves (a late
   * leave never removes its successor). False if it was not a live member.
   */
  leave(hostId: string, incarnation?: string): boolean {
    const rec = this.members.get(hostId);
    if (!rec || !isLive(rec)) return false;
    if (incarnation !== undefined && rec.info.incarnation !== incarnation) return false;
    moveTo(rec, "left", this.clock.now());
    // Its activations are gone with it (handed off, or re-placed now).
    rec.info = Object.freeze({ ...rec.info, agents: 0, load: 0 });
    this.changed();
    return true;
  }

  /**
   * Declares dead every live host silent for `failureTimeoutMs` or more and
   * returns those that died in this call (sorted by id); nobody while paused.
   * Also forgets dead and departed hosts older than `deadRetentionMs`.
   */
  expire(): Member[] {
    const now = this.clock.now();
    const died: Member[] = [];
    for (const [id, rec] of this.members) {
      if (isLive(rec)) {
        if (this.isPaused || this.local.has(id) || !this.detector.isDead(rec.info.lastHeartbeat, now)) continue;
        moveTo(rec, "dead", now);
        died.push(this.member(rec));
      } else if (now - rec.statusSince >= this.options.deadRetentionMs) {
        this.members.delete(id);
      }
    }
    if (died.length > 0) this.changed();
    return died.sort(byId);
  }

  /**
   * Suspects every live host silent for `suspectAfterMs` (it gets no new
   * placements) and returns every suspected host, for the caller to probe.
   * Nobody while paused; never a local host.
   */
  suspect(): Member[] {
    if (this.isPaused) return [];
    const now = this.clock.now();
    const out: Member[] = [];
    let changed = false;
    for (const [id, rec] of this.members) {
      if (rec.status === "alive" && !this.local.has(id) && this.detector.isSuspect(rec.info.lastHeartbeat, now)) {
        moveTo(rec, "suspected", now);
        changed = true;
      }
      if (rec.status === "suspected") out.push(this.member(rec));
    }
    if (changed) this.changed();
    return out.sort(byId);
  }

  /**
   * A probe proved the host's process gone ("no responders": its NATS
   * connection closed): dead now, without waiting out the failure timeout.
   * Only that incarnation, and never a local host; null if nothing changed.
   */
  confirmDead(hostId: string, incarnation: string): Member | null {
    const rec = this.members.get(hostId);
    if (!rec || !isLive(rec) || rec.info.incarnation !== incarnation || this.local.has(hostId) || this.isPaused) return null;
    moveTo(rec, "dead", this.clock.now());
    this.changed();
    return this.member(rec);
  }

  /**
   * Counts a placement on `hostId` in its load figures until its next
   * heartbeat brings the real ones: a burst of placements (a failover)
   * spreads over the hosts instead of piling onto the one that was lightest.
   */
  notePlaced(hostId: string): void {
    const rec = this.members.get(hostId);
    if (!rec || !isLive(rec)) return;
    rec.info = Object.freeze({ ...rec.info, agents: rec.info.agents + 1, load: rec.info.load + 1 });
    this.cached = null;
  }

  /**
   * When the next host is due to be suspected or declared dead if it stays
   * silent: for the caller's timer. Null while paused or with no live member.
   */
  nextExpiryAt(): number | null {
    if (this.isPaused) return null;
    let next: number | null = null;
    for (const rec of this.members.values()) {
      if (!isLive(rec) || this.local.has(rec.info.id)) continue;
      const at = rec.status === "suspected" ? this.detector.deadline(rec.info.lastHeartbeat) : rec.info.lastHeartbeat + this.detector.suspectAfterMs;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  /**
   * Marks a host as living in the directory's own process (`colony dev`, an
   * in-process test cluster): it is never declared dead for silence, since
   * whatever froze it froze the directory too, and its silence proves nothing.
   * It still leaves or restarts like any host.
   */
  markLocal(hostId: string): void {
    this.local.add(hostId);
  }

  /** True for a host of the directory's own process. */
  isLocal(hostId: string): boolean {
    return this.local.has(hostId);
  }

  /** Stops declaring deaths: the directory cannot hear anyone, so silence proves nothing. */
  pause(): void {
    this.isPaused = true;
  }

  /** Declares deaths again, counting every live member's silence from now. */
  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.forgive();
  }

  /**
   * Counts every live member's silence from now: after the directory itself
   * was frozen (its sweep ran late), nobody's silence meant anything.
   */
  forgive(): void {
    const now = this.clock.now();
    let changed = false;
    for (const rec of this.members.values()) {
      if (!isLive(rec)) continue;
      rec.info = Object.freeze({ ...rec.info, lastHeartbeat: now });
      if (rec.status === "suspected") {
        moveTo(rec, "alive", now);
        changed = true;
      }
    }
    if (changed) this.changed();
    this.cached = null;
  }

  /**
   * The members that take new agents, frozen, sorted by id: the live ones,
   * draining included, suspected ones not; but if every live member is
   * suspected (the directory's own host starved of CPU makes everyone look
   * silent at once), the suspected ones: placing on a host that is probably
   * alive beats refusing every new agent, and failover moves it if it is not.
   */
  snapshot(): MembershipSnapshot {
    if (this.cached) return this.cached;
    if (!this.liveIds) {
      const alive: string[] = [];
      const suspected: string[] = [];
      for (const [id, rec] of this.members) {
        if (rec.status === "alive") alive.push(id);
        else if (rec.status === "suspected") suspected.push(id);
      }
      this.liveIds = (alive.length > 0 ? alive : suspected).sort();
    }
    const hosts = Object.freeze(this.liveIds.map((id) => this.members.get(id)!.info));
    this.cached = Object.freeze({ version: this.currentVersion, hosts });
    return this.cached;
  }

  /** True if the host is a live member (draining or suspected or neither), as of the last `expire()`. */
  isAlive(hostId: string): boolean {
    const rec = this.members.get(hostId);
    return rec !== undefined && isLive(rec);
  }

  get(hostId: string): Member | undefined {
    const rec = this.members.get(hostId);
    return rec && this.retained(rec) ? this.member(rec) : undefined;
  }

  /** Every member, with status: the live ones and those dead or gone within `deadRetentionMs`, sorted by id. */
  all(): Member[] {
    const out: Member[] = [];
    for (const rec of this.members.values()) if (this.retained(rec)) out.push(this.member(rec));
    return out.sort(byId);
  }

  private retained(rec: MemberRecord): boolean {
    return isLive(rec) || this.clock.now() - rec.statusSince < this.options.deadRetentionMs;
  }

  private member(rec: MemberRecord): Member {
    return toMember(rec);
  }

  private changed(): void {
    this.currentVersion++;
    this.liveIds = null;
    this.cached = null;
  }
}
