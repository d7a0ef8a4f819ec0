import type { ChatMessage, Usage } from "../model/messages.ts";
import { contextTotals } from "../model/context-size.ts";
import { textOf } from "../model/messages.ts";
import type { ModelProvider } from "../model/provider.ts";

/** Default compaction: past ~150k tokens of context, keep the last 6 turns verbatim. */
export const DEFAULT_COMPACTION = { atTokens: 150_000, keepTurns: 6 } as const;

/** The system prompt of a compaction call (the scripted model recognizes it). */
export const COMPACTION_SYSTEM_PROMPT =
  "You compact a conversation for an AI agent. Summarize the transcript you are given so that the agent can continue the work: " +
  "decisions, facts learnt, open tasks, tool results that still matter. Be concise; do not invent anything.";

export const SUMMARY_PREFIX = "[Summary of the earlier conversation]";

/** Characters / 4: the same rough estimate everywhere; a turn pays only for the messages added since the last (context-size.ts). */
export function estimateTokens(messages: readonly ChatMessage[]): number {
  return Math.ceil(contextTotals(messages).chars / 4);
}

/** Index where the last `keepTurns` turns begin (a turn starts at a user message with text), or 0. */
export function recentTurnsStart(messages: readonly ChatMessage[], keepTurns: number): number {
  let seen = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === "user" && m.content.some((b) => b.type === "text")) {
      if (++seen === keepTurns) return i;
    }
  }
  return 0;
}

function transcript(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) =>
      m.content
        .map((b) => {
          if (b.type === "text") return `${m.role}: ${b.text}`;
          if (b.type === "tool_use") return `${m.role} called ${b.name}(${JSON.stringify(b.input)})`;
          return `tool result${b.isError ? " (error)" : ""}: ${b.content}`;
        })
        .join("\n"),
    )
    .join("\n");
}

/**
 * Replaces every turn but the last `keepTurns` with a summary written by the
 * model. The agent's memory (remember/recall) lives outside the messages and
 * is never touched. Returns null when there is nothing worth compacting.
 */
export async function compact(
  messages: readonly ChatMessage[],
  opts: { keepTurns: number; model: ModelProvider; modelName: string; signal?: AbortSignal },
): Promise<{ messages: ChatMessage[]; usage: Usage } | null> {
  const cut = recentTurnsStart(messages, opts.keepTurns);
  if (cut <= 2) return null;
  const older = messages.slice(0, cut);
  const response = await opts.model.complete(
    {
      model: opts.modelName,
      system: COMPACTION_SYSTEM_PROMPT,
      messages: [{ role: "user", content: [{ type: "text", text: `Transcript to summarize:\n\n${transcript(older)}` }] }],
      tools: [],
      maxTokens: 2048,
      // A one-off transcript no later call repeats: a cache write would only cost more.
      cache: false,
    },
    opts.signal ? { signal: opts.signal } : {},
  );
  const summary = textOf(response.content).trim();
  if (!summary) return null;
  return {
    messages: [
      { role: "user", content: [{ type: "text", text: `${SUMMARY_PREFIX}\n${summary}` }] },
      { role: "assistant", content: [{ type: "text", text: "Understood. I will continue from this summary." }] },
      ...messages.slice(cut),
    ],
    usage: response.usage,
  };
}
