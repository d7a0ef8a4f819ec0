import { describe, expect, it } from "vitest";
import type { LifecycleEvent, Phase } from "../src/agent/lifecycle.ts";
import { Lifecycle, acceptsMessages, startsTurns, transition } from "../src/agent/lifecycle.ts";
import { OpenRequests, ResultWaiters } from "../src/agent/waiters.ts";
import { zeroUsage } from "../src/model/messages.ts";

const PHASES: Phase[] = ["active", "draining", "handingOff", "ended"];
const EVENTS: LifecycleEvent[] = ["drain", "handOff", "end"];

/** Every (phase, event) pair: the phase it leads to, null where the machine refuses it. */
const TRANSITIONS: [Phase, LifecycleEvent, Phase | null][] = [
  ["active", "drain", "draining"],
  ["active", "handOff", "handingOff"],
  ["active", "end", "ended"],
  ["draining", "drain", null],
  ["draining", "handOff", null],
  ["draining", "end", "ended"],
  ["handingOff", "drain", null],
  ["handingOff", "handOff", null],
  ["handingOff", "end", "ended"],
  ["ended", "drain", null],
  ["ended", "handOff", null],
  ["ended", "end", null],
];

/** A lifecycle brought to `phase` along allowed transitions. */
function lifecycleAt(phase: Phase, waiting: ConstructorParameters<typeof Lifecycle>[0] = []): Lifecycle {
  const lifecycle = new Lifecycle(waiting);
  if (phase === "draining") lifecycle.deactivate(false);
  if (phase === "handingOff") lifecycle.deactivate(true);
  if (phase === "ended") lifecycle.end(new Error("ended before the test"));
  expect(lifecycle.phase).toBe(phase);
  return lifecycle;
}

describe("activation lifecycle", () => {
  it("covers every phase and event in the table", () => {
    expect(TRANSITIONS.map(([p, e]) => `${p}/${e}`).sort()).toEqual(PHASES.flatMap((p) => EVENTS.map((e) => `${p}/${e}`)).sort());
  });

  it.each(TRANSITIONS)("from %s, %s leads to %s", (from, event, to) => {
    expect(transition(from, event)).toBe(to);
    const lifecycle = lifecycleAt(from);
    const moved = event === "end" ? lifecycle.end(new Error("x")) : lifecycle.deactivate(event === "handOff");
    expect(moved).toBe(to !== null);
    // A refused event changes nothing.
    expect(lifecycle.phase).toBe(to ?? from);
    expect(lifecycle.ended).toBe((to ?? from) === "ended");
  });

  it.each([
    ["active", true, true],
    ["draining", false, true],
    ["handingOff", false, false],
    ["ended", false, false],
  ] as const)("%s: accepts messages %s, starts turns %s", (phase, accepts, starts) => {
    expect(acceptsMessages(phase)).toBe(accepts);
    expect(startsTurns(phase)).toBe(starts);
  });

  it.each(["active", "draining", "handingOff"] as const)("end() from %s settles every waiter and open request exactly once", async (phase) => {
    const results = new ResultWaiters();
    const requests = new OpenRequests();
    const lifecycle = lifecycleAt(phase, [results, requests]);
    const settled: string[] = [];
    const answers = ["stop", "decide"].map((name) =>
      requests.add(
        () => settled.push(`${name}:ok`),
        (e) => settled.push(`${name}:${e instanceof Error ? e.message : String(e)}`),
      ),
    );
    ["m1", "m1", "m2"].forEach((id, i) => results.wait(id).then(() => settled.push(`${id}#${i}:ok`), (e: Error) => settled.push(`${id}#${i}:${e.message}`)));

    expect(lifecycle.end(new Error("gone"))).toBe(true);
    expect(lifecycle.end(new Error("again"))).toBe(false);
    // Late answers and results change nothing: each was settled once, by the end.
    for (const answer of answers) answer();
    results.resolve("m1", { messageId: "m1", status: "completed", reply: "late", usage: zeroUsage() });
    // Reactions to settled promises all run before the next macrotask: none left pending means none was settled.
    await new Promise((r) => setImmediate(r));
    expect(settled.sort()).toEqual(["decide:gone", "m1#0:gone", "m1#1:gone", "m2#2:gone", "stop:gone"]);
  });

  it("end() once ended settles nothing", () => {
    const calls: Error[] = [];
    const lifecycle = lifecycleAt("ended", [{ rejectAll: (e) => calls.push(e) }]);
    expect(calls.map((e) => e.message)).toEqual(["ended before the test"]);
    expect(lifecycle.end(new Error("again"))).toBe(false);
    expect(calls).toHaveLength(1);
  });
});
