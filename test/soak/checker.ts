/**
 * The soak's checker: compares what the clients were told with what every
 * agent's stored history holds. Pure: the soak reads the store and hands
 * both sides in, so the rules are unit-tested without a cluster.
 *
 * What counts as what (README "Guarantees" 2-4 and 7):
 * - a message is *acknowledged* only when some attempt got a 2xx; one whose
 *   every attempt failed or timed out is *unknown*: it may have been stored;
 * - every acknowledged message is in the history exactly once, and the
 *   acknowledged ones are in send order (a client sends an agent's next
 *   message only after the previous one was acknowledged or given up);
 * - an unknown message is there at most once; nothing else is there;
 * - each user message is followed by exactly one reply of the counter model,
 *   quoting it and counting the user messages of the context it saw;
 * - a reply handed to a client agrees with the stored history;
 * - `duplicate: true` on a request whose idempotency key was never sent
 *   before is false (the client knows which attempt it made);
 * - once the cluster is quiet, no inbox holds an unprocessed message.
 */

export interface SentMessage {
  content: string;
  outcome: "acked" | "unknown";
  /** The reply of a wait=true request whose turn completed (any attempt). */
  reply?: string;
  /** The attempt that was acknowledged said duplicate: true although it was the first. */
  falseDuplicate?: boolean;
  /** When it was acknowledged, in seconds since the soak started (to line a violation up with the faults' log). */
  ackedAtS?: number;
}

const when = (s: SentMessage) => (s.ackedAtS === undefined ? "" : ` (acknowledged at ${s.ackedAtS.toFixed(1)}s)`);

export interface StoredAgent {
  /** The agent's stored context (user and assistant messages); null if the agent has no state. */
  messages: { role: string; content: { type: string; text?: string }[] }[] | null;
  /** Entries still in its inbox. */
  inboxLength: number;
  /** A turn is still recorded as in flight (started, never finished). */
  turnInFlight?: boolean;
}

export type ViolationKind =
  | "lost"
  | "duplicated"
  | "out_of_order"
  | "stray"
  | "reply_mismatch"
  | "reply_missing"
  | "client_reply_mismatch"
  | "false_duplicate"
  | "unprocessed";

export interface Violation {
  kind: ViolationKind | string;
  agent: string;
  detail: string;
}

/** What the scripted model answers to plain text (packages/actors/src/model/scripted.ts): a counter of user messages. */
export function expectedReply(text: string, position: number): string {
  return `You said: "${text}" (message #${position} of this conversation).`;
}

/** The user texts of a stored context, and the problems of its replies. */
function walk(agent: string, messages: NonNullable<StoredAgent["messages"]>, out: Violation[]): string[] {
  const users: string[] = [];
  let answered = true;
  for (const m of messages) {
    const text = m.content.find((b) => b.type === "text")?.text;
    if (text === undefined) continue;
    if (m.role === "user") {
      if (!answered) out.push({ agent, kind: "reply_missing", detail: `no reply to ${JSON.stringify(users[users.length - 1])}` });
      users.push(text);
      answered = false;
    } else if (m.role === "assistant") {
      const want = expectedReply(users[users.length - 1] ?? "", users.length);
      if (answered) out.push({ agent, kind: "reply_mismatch", detail: `a second reply ${JSON.stringify(text)} after ${JSON.stringify(users[users.length - 1])}` });
      else if (text !== want) out.push({ agent, kind: "reply_mismatch", detail: `stored reply ${JSON.stringify(text)}, expected ${JSON.stringify(want)}` });
      answered = true;
    }
  }
  if (!answered) out.push({ agent, kind: "reply_missing", detail: `no reply to the last message ${JSON.stringify(users[users.length - 1])}` });
  return users;
}

/** Every violation of one agent: `sent` in send order, `stored` as read after the cluster went quiet. */
export function checkAgent(agent: string, sent: readonly SentMessage[], stored: StoredAgent): Violation[] {
  const out: Violation[] = [];
  const users = stored.messages ? walk(agent, stored.messages, out) : [];
  if (stored.inboxLength > 0) out.push({ agent, kind: "unprocessed", detail: `${stored.inboxLength} inbox entries never processed` });
  else if (stored.turnInFlight) out.push({ agent, kind: "unprocessed", detail: "a turn started and never finished" });

  const positions = new Map<string, number[]>();
  users.forEach((t, i) => positions.set(t, [...(positions.get(t) ?? []), i + 1]));
  const byContent = new Map(sent.map((s) => [s.content, s]));
  for (const [text, at] of positions) {
    if (!byContent.has(text)) out.push({ agent, kind: "stray", detail: `${JSON.stringify(text)} was never sent` });
    else if (at.length > 1) out.push({ agent, kind: "duplicated", detail: `${JSON.stringify(text)} (${byContent.get(text)!.outcome}) stored ${at.length} times, at ${at.join(", ")}` });
  }

  const acked = sent.filter((s) => s.outcome === "acked");
  for (const s of acked) {
    const at = positions.get(s.content);
    if (!at) out.push({ agent, kind: "lost", detail: `acknowledged ${JSON.stringify(s.content)} is not in the history${when(s)}` });
    if (s.falseDuplicate) out.push({ agent, kind: "false_duplicate", detail: `first send of ${JSON.stringify(s.content)} answered duplicate: true${when(s)}` });
    if (s.reply !== undefined && at?.length === 1) {
      const want = expectedReply(s.content, at[0]!);
      if (s.reply !== want) out.push({ agent, kind: "client_reply_mismatch", detail: `client got ${JSON.stringify(s.reply.slice(0, 160))}, history says ${JSON.stringify(want)}` });
    }
  }
  const ackedOrder = acked.map((s) => s.content).filter((c) => positions.get(c)?.length === 1);
  const storedOrder = users.filter((t) => byContent.get(t)?.outcome === "acked" && positions.get(t)!.length === 1);
  const firstDiff = ackedOrder.findIndex((c, i) => storedOrder[i] !== c);
  if (firstDiff >= 0) {
    out.push({
      agent,
      kind: "out_of_order",
      detail: `acknowledged in order …${JSON.stringify(ackedOrder.slice(Math.max(0, firstDiff - 1), firstDiff + 2))}…, stored …${JSON.stringify(storedOrder.slice(Math.max(0, firstDiff - 1), firstDiff + 2))}…`,
    });
  }
  return out;
}

/** Violations of every agent, and a count by kind. */
export function checkAll(sent: ReadonlyMap<string, readonly SentMessage[]>, stored: ReadonlyMap<string, StoredAgent>): Violation[] {
  const out: Violation[] = [];
  for (const [agent, messages] of sent) {
    out.push(...checkAgent(agent, messages, stored.get(agent) ?? { messages: null, inboxLength: 0 }));
  }
  return out;
}

export function countByKind(violations: readonly Violation[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of violations) counts[v.kind] = (counts[v.kind] ?? 0) + 1;
  return counts;
}
