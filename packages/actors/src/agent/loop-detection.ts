import type { AgentState } from "./state.ts";

/** The same tool with the same arguments more often than this in one turn opens the agent's circuit. */
export const MAX_IDENTICAL_TOOL_CALLS = 3;

/** Canonical JSON (sorted keys), so equal arguments compare equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The tool call repeated more than MAX_IDENTICAL_TOOL_CALLS times in this turn (the stuttering check). */
export function repeatedCall(state: AgentState): { tool: string; times: number } | null {
  const counts = new Map<string, number>();
  for (const m of state.messages.slice(state.turn!.startIndex)) {
    for (const b of m.content) {
      if (b.type !== "tool_use") continue;
      const key = `${b.name}\u0000${canonical(b.input)}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n > MAX_IDENTICAL_TOOL_CALLS) return { tool: b.name, times: n };
    }
  }
  return null;
}
