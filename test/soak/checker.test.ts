import { describe, expect, it } from "vitest";
import type { SentMessage, StoredAgent } from "./checker.ts";
import { checkAgent, countByKind, expectedReply } from "./checker.ts";

const user = (text: string) => ({ role: "user", content: [{ type: "text", text }] });
const reply = (text: string, n: number) => ({ role: "assistant", content: [{ type: "text", text: expectedReply(text, n) }] });
/** A history where each text got its counter reply, in this order. */
const history = (...texts: string[]): StoredAgent => ({ messages: texts.flatMap((t, i) => [user(t), reply(t, i + 1)]), inboxLength: 0 });
const acked = (content: string, extra: Partial<SentMessage> = {}): SentMessage => ({ content, outcome: "acked", ...extra });
const unknown = (content: string): SentMessage => ({ content, outcome: "unknown" });
const kinds = (sent: SentMessage[], stored: StoredAgent) => countByKind(checkAgent("a/1", sent, stored));

describe("soak checker", () => {
  it("accepts a history holding every acknowledged message once, in order, with consistent replies", () => {
    expect(kinds([acked("m0"), acked("m1", { reply: expectedReply("m1", 2) }), acked("m2")], history("m0", "m1", "m2"))).toEqual({});
  });

  it("an unknown message may be missing or present once, anywhere", () => {
    expect(kinds([acked("m0"), unknown("m1"), acked("m2")], history("m0", "m2"))).toEqual({});
    expect(kinds([acked("m0"), unknown("m1"), acked("m2")], history("m0", "m2", "m1"))).toEqual({});
    expect(kinds([acked("m0"), unknown("m1")], history("m0", "m1", "m1"))).toEqual({ duplicated: 1 });
  });

  it("finds a lost acknowledged message", () => {
    expect(kinds([acked("m0"), acked("m1")], history("m0"))).toEqual({ lost: 1 });
  });

  it("finds an acknowledged message stored twice (a turn run twice)", () => {
    expect(kinds([acked("m0"), acked("m1")], history("m0", "m1", "m1"))).toEqual({ duplicated: 1 });
  });

  it("finds acknowledged messages out of send order", () => {
    expect(kinds([acked("m0"), acked("m1"), acked("m2")], history("m0", "m2", "m1"))).toEqual({ out_of_order: 1 });
  });

  it("finds a message nobody sent", () => {
    expect(kinds([acked("m0")], history("m0", "ghost"))).toEqual({ stray: 1 });
  });

  it("finds replies that do not count the context, and user messages left unanswered", () => {
    const skewed: StoredAgent = { messages: [user("m0"), reply("m0", 1), user("m1"), reply("m1", 3)], inboxLength: 0 };
    expect(kinds([acked("m0"), acked("m1")], skewed)).toEqual({ reply_mismatch: 1 });
    const unanswered: StoredAgent = { messages: [user("m0"), user("m1"), reply("m1", 2)], inboxLength: 0 };
    expect(kinds([acked("m0"), acked("m1")], unanswered)).toEqual({ reply_missing: 1 });
    const twice: StoredAgent = { messages: [user("m0"), reply("m0", 1), reply("m0", 1)], inboxLength: 0 };
    expect(kinds([acked("m0")], twice)).toEqual({ reply_mismatch: 1 });
  });

  it("finds a reply handed to the client that the history contradicts, and a false duplicate", () => {
    expect(kinds([acked("m0"), acked("m1", { reply: expectedReply("m1", 1) })], history("m0", "m1"))).toEqual({ client_reply_mismatch: 1 });
    expect(kinds([acked("m0", { falseDuplicate: true })], history("m0"))).toEqual({ false_duplicate: 1 });
  });

  it("finds an inbox left with unprocessed messages, and an agent with no state at all", () => {
    expect(kinds([acked("m0"), acked("m1")], { ...history("m0"), inboxLength: 1 })).toEqual({ lost: 1, unprocessed: 1 });
    expect(kinds([acked("m0")], { messages: null, inboxLength: 0 })).toEqual({ lost: 1 });
    expect(kinds([unknown("m0")], { messages: null, inboxLength: 0 })).toEqual({});
  });
});
