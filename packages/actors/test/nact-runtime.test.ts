import { describe, expect, it } from "vitest";
import { NactRuntime } from "../src/runtime/nact-runtime.ts";
import { ManualClock } from "../src/testing/manual-clock.ts";
import { waitFor } from "../src/testing/wait.ts";

/** A promise with its resolve, for handlers that block until the test lets them go. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe("NactRuntime", () => {
  it("handles messages one at a time, in the order told", async () => {
    const runtime = new NactRuntime();
    const seen: string[] = [];
    let running = 0;
    let overlap = false;
    const first = gate();
    const ref = runtime.spawn<number>("a", async (n) => {
      overlap ||= ++running > 1;
      seen.push(`start ${n}`);
      if (n === 1) await first.promise;
      seen.push(`end ${n}`);
      running--;
    }, () => {});
    for (let n = 1; n <= 3; n++) ref.tell(n);
    await waitFor(() => seen.length === 1);
    first.open();
    await waitFor(() => seen.length === 6);
    expect(seen).toEqual(["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
    expect(overlap).toBe(false);
  });

  it("reports a throw and goes on with the next message", async () => {
    const runtime = new NactRuntime();
    const errors: unknown[] = [];
    const handled: string[] = [];
    const ref = runtime.spawn<string>("a", async (m) => {
      if (m === "bad") throw new Error("boom");
      handled.push(m);
    }, (e, m) => errors.push([(e as Error).message, m]));
    ref.tell("bad");
    ref.tell("good");
    await waitFor(() => handled.length === 1);
    expect(errors).toEqual([["boom", "bad"]]);
    expect(handled).toEqual(["good"]);
  });

  it("a stopped actor finishes the running message and drops the waiting ones; a closed runtime stops all", async () => {
    const runtime = new NactRuntime();
    const handled: string[] = [];
    const first = gate();
    const started: string[] = [];
    const ref = runtime.spawn<string>("a", async (m) => {
      started.push(m);
      if (m === "one") await first.promise;
      handled.push(m);
    }, () => {});
    ref.tell("one");
    ref.tell("two");
    await waitFor(() => started.length === 1);
    ref.stop();
    ref.tell("three");
    first.open();
    await waitFor(() => handled.length === 1);
    const other = runtime.spawn<string>("b", async (m) => void handled.push(m), () => {});
    runtime.close();
    other.tell("after close");
    // nact handles each message in a setImmediate: two more turns of the loop settle anything wrongly told.
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    expect(handled).toEqual(["one"]);
    expect(started).toEqual(["one"]);
  });

  it("a message told and stopped before its turn came is not handled", async () => {
    const runtime = new NactRuntime();
    const handled: string[] = [];
    const ref = runtime.spawn<string>("a", async (m) => void handled.push(m), () => {});
    ref.tell("never");
    ref.stop();
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    expect(handled).toEqual([]);
  });
  it("with no parking delay, an actor with nothing left to handle gives its nact actor back at once, and the next message gets a fresh one under the same name, in order", async () => {
    const runtime = new NactRuntime({ parkAfterMs: 0 });
    const seen: number[] = [];
    let running = 0;
    let overlap = false;
    const ref = runtime.spawn<number>("parked", async (n) => {
      overlap ||= ++running > 1;
      await new Promise<void>((r) => setImmediate(r));
      seen.push(n);
      running--;
    }, () => {});
    const live = () => runtime.liveActors();
    expect(live()).toBe(0);
    ref.tell(1);
    expect(live()).toBe(1);
    await waitFor(() => seen.length === 1 && live() === 0);
    // Told again at once, in bursts, while earlier ones still run: one actor at a time, every message once, in order.
    for (let burst = 0; burst < 5; burst++) {
      for (let i = 0; i < 3; i++) ref.tell(10 * burst + i);
      if (burst % 2 === 0) await waitFor(() => live() === 0);
    }
    await waitFor(() => seen.length === 16 && live() === 0);
    expect(seen).toEqual([1, 0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42]);
    expect(overlap).toBe(false);
    runtime.close();
  });

  it("a throw in the last queued message still gives the nact actor back, and the actor goes on afterwards", async () => {
    const runtime = new NactRuntime({ parkAfterMs: 0 });
    const errors: string[] = [];
    const handled: string[] = [];
    const ref = runtime.spawn<string>("crashy", async (m) => {
      if (m === "bad") throw new Error("boom");
      handled.push(m);
    }, (e) => errors.push((e as Error).message));
    ref.tell("bad");
    await waitFor(() => errors.length === 1 && runtime.liveActors() === 0);
    ref.tell("good");
    await waitFor(() => handled.length === 1 && runtime.liveActors() === 0);
    expect(handled).toEqual(["good"]);
    runtime.close();
  });

  it("an idle actor keeps its nact actor through one full parking period, gives it back at the next sweep, and never while a message runs", async () => {
    const clock = new ManualClock();
    const runtime = new NactRuntime({ parkAfterMs: 1_000, clock });
    const seen: number[] = [];
    const blocker = gate();
    const ref = runtime.spawn<number>("lazy", async (n) => {
      if (n === 4) await blocker.promise;
      seen.push(n);
    }, () => {});
    const live = () => runtime.liveActors();

    ref.tell(1);
    await waitFor(() => seen.length === 1);
    expect(live()).toBe(1);
    clock.advance(1_000); // idle for part of this period only: kept
    expect(live()).toBe(1);
    ref.tell(2); // busy again before the next sweep: its idle time starts over
    await waitFor(() => seen.length === 2);
    clock.advance(1_000);
    expect(live()).toBe(1);
    clock.advance(1_000);
    expect(live()).toBe(0);
    expect(clock.pendingTimers()).toBe(0); // nothing idle left: no sweep scheduled

    // Idle with a sweep due, then a message that runs across many sweeps: its nact actor stays, and the one told behind it runs after it.
    ref.tell(3);
    await waitFor(() => seen.length === 3 && clock.pendingTimers() === 1);
    ref.tell(4);
    ref.tell(5);
    for (let i = 0; i < 5; i++) clock.advance(1_000);
    expect(live()).toBe(1);
    blocker.open();
    await waitFor(() => seen.length === 5);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    clock.advance(2_000);
    expect(live()).toBe(0);

    ref.tell(6); // a fresh nact actor under the same name
    await waitFor(() => seen.length === 6);
    expect(live()).toBe(1);
    runtime.close();
    expect(clock.pendingTimers()).toBe(0); // close drops the sweep
  });
});
