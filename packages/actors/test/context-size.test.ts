import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../src/model/messages.ts";
import { contentChars, contextTotals } from "../src/model/context-size.ts";

const user = (text: string): ChatMessage => ({ role: "user", content: [{ type: "text", text }] });
const assistant = (text: string): ChatMessage => ({ role: "assistant", content: [{ type: "text", text }] });
const toolResults = (content: string): ChatMessage => ({ role: "user", content: [{ type: "tool_result", toolUseId: "t1", content, isError: false }] });

/** The totals counted from scratch, the way they are defined. */
const recount = (messages: readonly ChatMessage[]) => ({
  chars: messages.reduce((n, m) => n + contentChars(m.content), 0),
  userTurns: messages.filter((m) => m.role === "user" && m.content.some((b) => b.type === "text")).length,
});
const totals = (messages: readonly ChatMessage[]) => {
  const t = contextTotals(messages);
  return { chars: t.chars, userTurns: t.userTurns };
};

describe("contextTotals", () => {
  it("matches a full recount as a conversation grows by copies of its array", () => {
    let conv: ChatMessage[] = [];
    for (let i = 0; i < 50; i++) {
      conv = [...conv, user(`question ${i}`)];
      expect(totals(conv)).toEqual(recount(conv));
      conv = [...conv, assistant("x".repeat(i)), toolResults(`result ${i}`)];
      expect(totals(conv)).toEqual(recount(conv));
    }
    expect(totals(conv).userTurns).toBe(50);
  });

  it("counts again after compaction gives the kept messages a new beginning", () => {
    const conv = Array.from({ length: 20 }, (_, i) => (i % 2 ? assistant(`a${i}`) : user(`u${i}`)));
    expect(totals(conv)).toEqual(recount(conv));
    const compacted = [user("[Summary] a much longer summary of what happened before"), ...conv.slice(14)];
    expect(totals(compacted)).toEqual(recount(compacted));
    // The original conversation still counts right (its messages' totals were recomputed for the other one).
    expect(totals(conv)).toEqual(recount(conv));
  });

  it("is not fooled by a message shared with another conversation at another position", () => {
    const shared = assistant("shared reply");
    const a = [user("one"), shared];
    const b = [user("one"), assistant("extra"), user("two"), shared];
    expect(totals(a)).toEqual(recount(a));
    expect(totals(b)).toEqual(recount(b));
    expect(totals(a)).toEqual(recount(a));
    // Same position, another beginning; same position and beginning, another predecessor.
    const c = [user("a different, longer first message"), shared];
    expect(totals(c)).toEqual(recount(c));
    const first = user("one");
    const d = [first, assistant("x"), shared];
    const e = [first, assistant("a longer predecessor"), shared];
    expect(totals(d)).toEqual(recount(d));
    expect(totals(e)).toEqual(recount(e));
    const middle = assistant("kept");
    const f = [user("old beginning"), middle, shared];
    const g = [user("a new, longer beginning"), middle, shared];
    expect(totals(f)).toEqual(recount(f));
    expect(totals(g)).toEqual(recount(g));
    expect(totals([])).toEqual({ chars: 0, userTurns: 0 });
  });

  it("counts only the messages added since the last call", () => {
    const conv: ChatMessage[] = Array.from({ length: 1000 }, (_, i) => user(`m${i}`));
    const before = contextTotals(conv).chars;
    // Empty the earlier messages in place: were they read again, the count would drop.
    for (const m of conv) (m.content as unknown[]).length = 0;
    expect(contextTotals([...conv, assistant("abc")]).chars).toBe(before + 3);
  });
});
