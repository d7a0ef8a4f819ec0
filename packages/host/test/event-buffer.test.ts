import { describe, expect, it } from "vitest";
import type { AgentEventRecord } from "@colony/actors";
import { BoundedEventBuffer } from "../src/observability/event-buffer.ts";

const rec = (n: number): AgentEventRecord => ({ agent: "assistant/a", at: n, turn: 1, host: "h", event: { kind: "text_delta", text: String(n) } });
const texts = (items: ReturnType<BoundedEventBuffer["take"]>) => items.map((i) => (i.kind === "lagged" ? `lagged ${i.missed}` : (i.rec.event as { text: string }).text));

describe("the per-stream event buffer", () => {
  it("keeps at most max events and says, in place, how many it dropped", () => {
    let pushes = 0;
    const b = new BoundedEventBuffer(3, () => pushes++);
    for (let i = 1; i <= 10; i++) b.push(rec(i));
    expect(pushes).toBe(3);
    expect(texts(b.take())).toEqual(["1", "2", "3", "lagged 7"]);
    expect(b.isEmpty).toBe(true);
  });

  it("after a drop, the next kept event comes after the lagged note, and reading frees the room", () => {
    const b = new BoundedEventBuffer(2);
    for (let i = 1; i <= 4; i++) b.push(rec(i));
    expect(texts(b.take())).toEqual(["1", "2", "lagged 2"]);
    b.push(rec(5));
    b.push(rec(6));
    b.push(rec(7));
    expect(b.isEmpty).toBe(false);
    expect(texts(b.take())).toEqual(["5", "6", "lagged 1"]);
    b.push(rec(8));
    expect(texts(b.take())).toEqual(["8"]);
  });
});
