import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_CONCURRENT_MODEL_CALLS, ModelCallLimiter } from "../src/model/limiter.ts";

// The per-host FIFO semaphore on its own.

const settled = async <T>(p: Promise<T>) => {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  // Let already-resolved continuations run (microtasks only, no timers).
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe("ModelCallLimiter", () => {
  it("grants up to maxConcurrent slots, then queues in FIFO order", async () => {
    const limiter = new ModelCallLimiter({ maxConcurrent: 2 });
    const order: number[] = [];
    const r1 = await limiter.acquire();
    const r2 = await limiter.acquire();
    const waiters = [3, 4, 5].map((n) => limiter.acquire().then((release) => (order.push(n), release)));
    expect([limiter.active, limiter.waiting]).toEqual([2, 3]);
    expect(await settled(waiters[0]!)).toBe(false);
    r2();
    const r3 = await waiters[0]!;
    expect([limiter.active, limiter.waiting]).toEqual([2, 2]);
    r1();
    r3();
    const [r4, r5] = await Promise.all([waiters[1]!, waiters[2]!]);
    expect(order).toEqual([3, 4, 5]);
    r4!();
    r4!(); // a second release is a no-op
    expect(limiter.active).toBe(1);
    r5!();
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  it("a waiter whose signal aborts leaves the queue with the signal's reason", async () => {
    const limiter = new ModelCallLimiter({ maxConcurrent: 1 });
    const held = await limiter.acquire();
    const controller = new AbortController();
    const reason = new Error("gone");
    const aborted = limiter.acquire(controller.signal);
    const next = limiter.acquire();
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(limiter.waiting).toBe(1);
    held();
    const release = await next;
    expect(limiter.active).toBe(1);
    release();
    expect(limiter.active).toBe(0);
  });

  it("rejects at once for an aborted signal; run() releases even when fn throws", async () => {
    const limiter = new ModelCallLimiter({ maxConcurrent: 1 });
    const controller = new AbortController();
    controller.abort(new Error("before"));
    await expect(limiter.acquire(controller.signal)).rejects.toThrow("before");
    await expect(limiter.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(limiter.active).toBe(0);
    await expect(limiter.run(async () => 42)).resolves.toBe(42);
  });

  it("validates maxConcurrent and has a default", () => {
    expect(new ModelCallLimiter().maxConcurrent).toBe(DEFAULT_MAX_CONCURRENT_MODEL_CALLS);
    expect(() => new ModelCallLimiter({ maxConcurrent: 0 })).toThrow(/maxConcurrent/);
    expect(() => new ModelCallLimiter({ maxConcurrent: 1.5 })).toThrow(/maxConcurrent/);
  });
});
