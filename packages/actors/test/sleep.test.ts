import { describe, expect, it } from "vitest";
import { sleep } from "../src/clock.ts";
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
