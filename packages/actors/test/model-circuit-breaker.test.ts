import { describe, expect, it } from "vitest";
import { CIRCUIT_TRIAL_BUSY_RETRY_MS, CircuitBreaker } from "../src/model/circuit-breaker.ts";
import type { CircuitState } from "../src/model/circuit-breaker.ts";
import { ManualClock } from "../src/testing/manual-clock.ts";

// The breaker is pure logic over an injected clock: no calls, no timers.

function breaker(opts: { failureThreshold?: number; openMs?: number } = {}) {
  const clock = new ManualClock();
  const changes: Array<[CircuitState, CircuitState]> = [];
  const b = new CircuitBreaker({ ...opts, clock, onStateChange: (s, prev) => changes.push([prev, s]) });
  return { b, clock, changes };
}

const fail = (b: CircuitBreaker, n: number) => {
  for (let i = 0; i < n; i++) {
    const p = b.tryAcquire();
    if (!p.allowed) throw new Error("expected a permit");
    b.record("failure", p.trial);
  }
};

describe("CircuitBreaker", () => {
  it("defaults to 5 failures and 30 s", () => {
    const { b } = breaker();
    expect([b.failureThreshold, b.openMs]).toEqual([5, 30_000]);
    fail(b, 4);
    expect(b.state).toBe("closed");
    fail(b, 1);
    expect(b.state).toBe("open");
  });

  it("counts only consecutive failures: a success resets, a neutral outcome does not", () => {
    const { b } = breaker({ failureThreshold: 3 });
    fail(b, 2);
    b.record("neutral", false);
    expect(b.snapshot().consecutiveFailures).toBe(2);
    b.record("success", false);
    fail(b, 2);
    expect(b.snapshot()).toMatchObject({ state: "closed", consecutiveFailures: 2 });
    fail(b, 1);
    expect(b.snapshot()).toMatchObject({ state: "open", consecutiveFailures: 3, trips: 1 });
  });

  it("fails fast while open, saying how long until the trial", () => {
    const { b, clock } = breaker({ failureThreshold: 1, openMs: 10_000 });
    fail(b, 1);
    clock.advance(4_000);
    expect(b.tryAcquire()).toEqual({ allowed: false, state: "open", retryAfterMs: 6_000 });
    expect(b.snapshot().retryAfterMs).toBe(6_000);
  });

  it("half-opens after openMs with one trial; others are turned away while it runs", () => {
    const { b, clock, changes } = breaker({ failureThreshold: 1, openMs: 10_000 });
    fail(b, 1);
    clock.advance(10_000);
    expect(b.state).toBe("half_open");
    expect(b.tryAcquire()).toEqual({ allowed: true, trial: true });
    expect(b.tryAcquire()).toEqual({ allowed: false, state: "half_open", retryAfterMs: CIRCUIT_TRIAL_BUSY_RETRY_MS });
    b.record("success", true);
    expect(b.state).toBe("closed");
    expect(changes).toEqual([
      ["closed", "open"],
      ["open", "half_open"],
      ["half_open", "closed"],
    ]);
  });

  it("a failed trial reopens for another openMs", () => {
    const { b, clock } = breaker({ failureThreshold: 2, openMs: 10_000 });
    fail(b, 2);
    clock.advance(10_000);
    const trial = b.tryAcquire();
    expect(trial).toEqual({ allowed: true, trial: true });
    b.record("failure", true);
    expect(b.snapshot()).toMatchObject({ state: "open", trips: 2, retryAfterMs: 10_000 });
  });

  it("an aborted trial frees the trial slot without deciding", () => {
    const { b, clock } = breaker({ failureThreshold: 1, openMs: 1_000 });
    fail(b, 1);
    clock.advance(1_000);
    b.tryAcquire();
    b.record("neutral", true);
    expect(b.state).toBe("half_open");
    expect(b.tryAcquire()).toEqual({ allowed: true, trial: true });
  });

  it("ignores late outcomes of calls that started before it opened", () => {
    const { b, clock } = breaker({ failureThreshold: 1, openMs: 1_000 });
    const early = b.tryAcquire();
    fail(b, 1);
    b.record("success", early.allowed && early.trial);
    expect(b.state).toBe("open");
    clock.advance(1_000);
    b.tryAcquire();
    b.record("failure", false); // a non-trial straggler
    expect(b.state).toBe("half_open");
  });

  it("rejects bad options naming them", () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreaker({ openMs: -1 })).toThrow(/openMs/);
  });
});
