import type { Clock } from "../clock.ts";
import { systemClock } from "../clock.ts";
import { ValidationError } from "../errors.ts";

/** Consecutive failed calls that open the circuit. */
export const DEFAULT_CIRCUIT_FAILURE_THRESHOLD = 5;
/** How long an open circuit fails calls fast before it lets one trial call through. */
export const DEFAULT_CIRCUIT_OPEN_MS = 30_000;
/** Retry hint for a call turned away while the half-open trial is still running. */
export const CIRCUIT_TRIAL_BUSY_RETRY_MS = 1_000;

/**
 * - `closed`: calls go through; failures are counted.
 * - `open`: calls fail fast until `openMs` has passed.
 * - `half_open`: one trial call goes through; its outcome closes or reopens the circuit.
 */
export type CircuitState = "closed" | "open" | "half_open";

/**
 * How a call ended, as far as the breaker cares:
 * - `success`: the API answered (even with a 4xx: the request was wrong, not the API);
 * - `failure`: the API is failing (5xx, overload, rate limit, stream error, timeout, connection);
 * - `neutral`: tells nothing (the caller aborted); a half-open trial slot is freed.
 */
export type CallOutcome = "success" | "failure" | "neutral";

/** The breaker's answer to "may I call?"; `trial` marks the half-open trial call. */
export type CircuitPermit = { allowed: true; trial: boolean } | { allowed: false; state: "open" | "half_open"; retryAfterMs: number };

export interface CircuitBreakerOptions {
  /** Consecutive failed calls that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before a trial call. Default 30,000 ms. */
  openMs?: number;
  clock?: Clock;
  /** Called on every state change (closed → open, open → half_open, ...), e.g. for a metric. */
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
}

export interface CircuitSnapshot {
  state: CircuitState;
  consecutiveFailures: number;
  /** Times the circuit went from closed (or half_open) to open. */
  trips: number;
  /** Until the circuit half-opens (0 unless open). */
  retryAfterMs: number;
}

/**
 * A circuit breaker around model calls: pure logic, time from an injected
 * clock. The caller asks {@link tryAcquire} before a call and reports its
 * outcome with {@link record}; the breaker never makes calls itself.
 */
export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly openMs: number;
  private readonly clock: Clock;
  private readonly onStateChange: CircuitBreakerOptions["onStateChange"];
  private current: CircuitState = "closed";
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private tripCount = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? DEFAULT_CIRCUIT_FAILURE_THRESHOLD;
    this.openMs = options.openMs ?? DEFAULT_CIRCUIT_OPEN_MS;
    if (!Number.isInteger(this.failureThreshold) || this.failureThreshold < 1) {
      throw new ValidationError(`failureThreshold must be an integer ≥ 1, got ${String(this.failureThreshold)}`, { field: "failureThreshold" });
    }
    if (!Number.isFinite(this.openMs) || this.openMs < 0) {
      throw new ValidationError(`openMs must be a number ≥ 0, got ${String(this.openMs)}`, { field: "openMs" });
    }
    this.clock = options.clock ?? systemClock;
    this.onStateChange = options.onStateChange;
  }

  /** The state now (an open circuit whose time is up reads as half_open). */
  get state(): CircuitState {
    if (this.current === "open" && this.clock.now() >= this.openedAt + this.openMs) this.moveTo("half_open");
    return this.current;
  }

  snapshot(): CircuitSnapshot {
    const state = this.state;
    return {
      state,
      consecutiveFailures: this.failures,
      trips: this.tripCount,
      retryAfterMs: state === "open" ? this.openedAt + this.openMs - this.clock.now() : 0,
    };
  }

  /** May a call go out now? In half_open only the first caller gets the (single) trial. */
  tryAcquire(): CircuitPermit {
    switch (this.state) {
      case "closed":
        return { allowed: true, trial: false };
      case "open":
        return { allowed: false, state: "open", retryAfterMs: this.openedAt + this.openMs - this.clock.now() };
      case "half_open":
        if (this.trialInFlight) return { allowed: false, state: "half_open", retryAfterMs: CIRCUIT_TRIAL_BUSY_RETRY_MS };
        this.trialInFlight = true;
        return { allowed: true, trial: true };
    }
  }

  /**
   * Reports how a permitted call ended. Outcomes of calls that started before
   * the circuit opened are ignored while it is open or half-open: only the
   * trial decides.
   */
  record(outcome: CallOutcome, trial: boolean): void {
    const state = this.state;
    if (state === "closed") {
      if (outcome === "success") this.failures = 0;
      else if (outcome === "failure" && ++this.failures >= this.failureThreshold) this.trip();
      return;
    }
    if (!trial || state !== "half_open") return;
    this.trialInFlight = false;
    if (outcome === "success") {
      this.failures = 0;
      this.moveTo("closed");
    } else if (outcome === "failure") {
      this.failures++;
      this.trip();
    }
  }

  private trip(): void {
    this.openedAt = this.clock.now();
    this.trialInFlight = false;
    this.tripCount++;
    this.moveTo("open");
  }

  private moveTo(next: CircuitState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    this.onStateChange?.(next, previous);
  }
}
