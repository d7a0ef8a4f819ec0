import type { ChatMessage, ContentBlock } from "./messages.ts";

/** What a conversation adds up to: its characters and the user turns (user messages with text) in it. */
export interface ContextTotals {
  readonly chars: number;
  readonly userTurns: number;
}

/** Totals through one message, and the conversation position they were computed for. */
interface Remembered extends ContextTotals {
  readonly index: number;
  readonly first: ChatMessage;
  readonly prev: ChatMessage | undefined;
}

const ZERO: ContextTotals = { chars: 0, userTurns: 0 };

/**
 * Running totals remembered per message object. A conversation only grows
 * at its end or gets a new beginning (compaction puts a new summary first),
 * and messages are never changed in place, so totals remembered for a
 * message at the same index, after the same predecessor, under the same
 * first message, still hold: each turn pays only for the messages it added,
 * not for the whole context.
 */
const remembered = new WeakMap<ChatMessage, Remembered>();

/** The totals of a conversation, computing only what was not counted before. */
export function contextTotals(messages: readonly ChatMessage[]): ContextTotals {
  const n = messages.length;
  if (n === 0) return ZERO;
  const first = messages[0]!;
  let from = n - 1;
  let totals = ZERO;
  for (; from >= 0; from--) {
    const r = remembered.get(messages[from]!);
    if (r && r.index === from && r.first === first && r.prev === messages[from - 1]) {
      totals = r;
      break;
    }
  }
  for (let i = from + 1; i < n; i++) {
    const m = messages[i]!;
    const next: Remembered = {
      chars: totals.chars + contentChars(m.content),
      userTurns: totals.userTurns + (m.role === "user" && m.content.some((b) => b.type === "text") ? 1 : 0),
      index: i,
      first,
      prev: messages[i - 1],
    };
    remembered.set(m, next);
    totals = next;
  }
  return totals;
}

/** Characters of text a model reads or writes in these blocks (tool inputs as JSON). */
export function contentChars(blocks: readonly ContentBlock[]): number {
  let n = 0;
  for (const b of blocks) {
    if (b.type === "text") n += b.text.length;
    else if (b.type === "tool_use") n += b.name.length + JSON.stringify(b.input ?? null).length;
    else n += b.content.length;
  }
  return n;
}
