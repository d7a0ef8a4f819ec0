import { describe, expect, it } from "vitest";
import { sleep, untilAborted, withTimeout } from "../src/clock.ts";
import { ManualClock } from "../src/testing/manual-clock.ts";

describe("sleep", () => {
  it("waits on the clock it is given", async () => {
    const clock = new ManualClock();
    let done = false;
    const p = sleep(1_000, { clock }).then(() => (done = true));
    clock.advance(999);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
  });

  it("ends at once with the signal's reason when aborted, before or while waiting", async () => {
    const clock = new ManualClock();
    const during = new AbortController();
    const waiting = sleep(60_000, { clock, signal: during.signal });
    during.abort(new Error("drain deadline"));
    await expect(waiting).rejects.toThrow("drain deadline");
    const before = new AbortController();
    before.abort(new Error("fenced"));
    await expect(sleep(1, { clock, signal: before.signal })).rejects.toThrow("fenced");
  });
});

describe("withTimeout", () => {
  it("answers the work's outcome when it settles in time, and cancels its timer", async () => {
    const clock = new ManualClock();
    await expect(withTimeout(Promise.resolve(7), 1_000, () => null, clock)).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error("refused")), 1_000, () => null, clock)).rejects.toThrow("refused");
    expect(clock.pendingTimers()).toBe(0);
  });

  it("answers onTimeout's value, or its throw, once the clock passes the deadline", async () => {
    const clock = new ManualClock();
    const never = new Promise<number>(() => {});
    const nulled = withTimeout(never, 1_000, () => null, clock);
    const thrown = withTimeout(never, 2_000, () => {
      throw new Error("no answer within 2000 ms");
    }, clock);
    clock.advance(1_000);
    await expect(nulled).resolves.toBeNull();
    clock.advance(1_000);
    await expect(thrown).rejects.toThrow("no answer within 2000 ms");
  });
});

describe("untilAborted", () => {
  it("answers the work's outcome while the signal stays quiet", async () => {
    const signal = new AbortController().signal;
    await expect(untilAborted(Promise.resolve(7), signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.reject(new Error("refused")), signal)).rejects.toThrow("refused");
  });

  it("rejects with the signal's reason as soon as it aborts, before or while waiting", async () => {
    const never = new Promise<number>(() => {});
    const during = new AbortController();
    const waiting = untilAborted(never, during.signal);
    during.abort(new Error("turn cancelled"));
    await expect(waiting).rejects.toThrow("turn cancelled");
    const before = new AbortController();
    before.abort(new Error("fenced"));
    await expect(untilAborted(never, before.signal)).rejects.toThrow("fenced");
  });
});
