import type { MembershipOptions } from "./options.ts";

/**
 * The failure detector: pure arithmetic over (lastSeen, now) samples, both
 * read from the directory's own clock, so hosts' clocks never matter. A host
 * silent for `suspectAfterMs` is suspected (and probed by the caller); one
 * silent for `failureTimeoutMs` or longer is dead. Time running backwards
 * (now < lastSeen) counts as no silence at all.
 *
 * It keeps no state; the caller (MembershipTable) owns the samples and
 * decides when to ask, which is what makes pause/resume possible.
 */
export class FailureDetector {
  readonly failureTimeoutMs: number;
  readonly suspectAfterMs: number;

  constructor(options: Pick<MembershipOptions, "failureTimeoutMs"> & Partial<Pick<MembershipOptions, "suspectAfterMs">>) {
    this.failureTimeoutMs = options.failureTimeoutMs;
    this.suspectAfterMs = options.suspectAfterMs ?? options.failureTimeoutMs;
  }

  /** How long the host has been silent (never negative). */
  silence(lastSeen: number, now: number): number {
    return Math.max(0, now - lastSeen);
  }

  /** True once the host has been silent for at least `failureTimeoutMs`. */
  isDead(lastSeen: number, now: number): boolean {
    return this.silence(lastSeen, now) >= this.failureTimeoutMs;
  }

  /** True once the host has been silent long enough to be probed. */
  isSuspect(lastSeen: number, now: number): boolean {
    return this.silence(lastSeen, now) >= this.suspectAfterMs;
  }

  /** The instant a host last heard from at `lastSeen` becomes dead, unless it speaks again. */
  deadline(lastSeen: number): number {
    return lastSeen + this.failureTimeoutMs;
  }
}
