import { describe, expect, it } from "vitest";
import { MailboxRuntime } from "../src/runtime/mailbox-runtime.ts";
import { waitFor } from "../src/testing/wait.ts";

/** A promise with its resolve, for handlers that block until the test lets them go. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe("MailboxRuntime", () => {
  it("handles messages one at a time, in the order told", async () => {
    const runtime = new MailboxRuntime();
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
    const runtime = new MailboxRuntime();
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
    const runtime = new MailboxRuntime();
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
    // Both mailboxes schedule through setImmediate: one more turn of the loop settles anything wrongly told.
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    expect(handled).toEqual(["one"]);
    expect(started).toEqual(["one"]);
  });

  it("a message told and stopped before its turn came is not handled", async () => {
    const runtime = new MailboxRuntime();
    const handled: string[] = [];
    const ref = runtime.spawn<string>("a", async (m) => void handled.push(m), () => {});
    ref.tell("never");
    ref.stop();
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    expect(handled).toEqual([]);
  });
});
