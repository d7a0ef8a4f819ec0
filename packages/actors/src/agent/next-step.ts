import type { ToolUseBlock } from "../model/messages.ts";
import { textOf } from "../model/messages.ts";
import type { PermissionTier } from "../tools/tool.ts";
import type { PolicyTrace } from "./tool-batch.ts";
import { limitReached } from "./limits.ts";
import type { AgentState } from "./state.ts";

/** Budgets whose exhaustion no retry can cure: the message is dead-lettered at once. */
export const SPENT_BUDGETS: ReadonlySet<string> = new Set(["token_budget_exhausted", "cost_budget_exhausted"]);

/** A tool call's tier, and the argument policy that chose it (if one did). */
export type CallTier = { tier: PermissionTier; policy?: PolicyTrace };

/**
 * What a turn does next, decided from its state alone:
 * - `finish`: the model's last response asked for no tool; its text is the reply.
 * - `await_approval`: some of its tool calls wait for a person's decision.
 * - `run_tools`: every call of the last response may run (or is denied).
 * - `stop`: a limit or budget ends the turn before the next model call;
 *   `deadLetter` when no retry could cure it (a spent budget).
 * - `call_model`: the model speaks next (the turn's message, or tool results, came last).
 */
export type NextStep =
  | { kind: "finish"; reply: string }
  | { kind: "await_approval"; calls: { use: ToolUseBlock; policy?: PolicyTrace }[] }
  | { kind: "run_tools"; uses: ToolUseBlock[] }
  | { kind: "stop"; reason: { code: string; message: string }; deadLetter: boolean }
  | { kind: "call_model" };

/**
 * The decision of the turn loop (runTurn performs it). Pure: the state in
 * flight (`state.turn` set) and each call's tier are all it reads, so it is
 * tested table-driven, without a model, tools or a store.
 */
export function nextStep(state: AgentState, tierOf: (use: ToolUseBlock) => CallTier): NextStep {
  const turn = state.turn!;
  const last = state.messages[state.messages.length - 1]!;
  if (last.role === "assistant") {
    const uses = last.content.filter((b): b is ToolUseBlock => b.type === "tool_use");
    if (uses.length === 0) return { kind: "finish", reply: textOf(last.content) };
    const waiting = uses.flatMap((use) => {
      const { tier, policy } = tierOf(use);
      return tier === "approval" && !turn.decisions[use.id] ? [policy ? { use, policy } : { use }] : [];
    });
    return waiting.length > 0 ? { kind: "await_approval", calls: waiting } : { kind: "run_tools", uses };
  }
  const stop = limitReached(state);
  if (stop) return { kind: "stop", reason: stop, deadLetter: SPENT_BUDGETS.has(stop.code) };
  return { kind: "call_model" };
}
