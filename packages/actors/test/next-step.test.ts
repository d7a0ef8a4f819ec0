import { describe, expect, it } from "vitest";
import { AgentTypeRegistry } from "../src/agent/define.ts";
import type { CallTier, NextStep } from "../src/agent/next-step.ts";
import { nextStep } from "../src/agent/next-step.ts";
import type { AgentState } from "../src/agent/state.ts";
import { initialState } from "../src/agent/state.ts";
import { parseAgentId, splitAgentId } from "../src/ids.ts";
import type { ChatMessage, ToolUseBlock, Usage } from "../src/model/messages.ts";

const id = parseAgentId("assistant/steps");
const { type, key } = splitAgentId(id);
const usage = (tokens: number, costUsd = 0): Usage => ({ inputTokens: tokens, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd });
const use = (n: string, input: unknown = {}): ToolUseBlock => ({ type: "tool_use", id: `toolu_${n}`, name: n, input });
const user: ChatMessage = { role: "user", content: [{ type: "text", text: "hi" }] };
const answer: ChatMessage = { role: "assistant", content: [{ type: "text", text: "hello " }, { type: "text", text: "there" }] };
const asks = (...uses: ToolUseBlock[]): ChatMessage => ({ role: "assistant", content: [{ type: "text", text: "let me" }, ...uses] });
const results: ChatMessage = { role: "user", content: [{ type: "tool_result", toolUseId: "toolu_pay", content: "ok", isError: false }] };

/** A state in the middle of a turn: `messages` since its start, the turn's counters, the agent's limits. */
function midTurn(messages: ChatMessage[], o: { iterations?: number; turnTokens?: number; used?: Usage; limits?: Record<string, number>; decided?: string[] } = {}): AgentState {
  const config = new AgentTypeRegistry().resolve("assistant", { limits: { maxIterationsPerTurn: 5, ...o.limits } });
  const s = initialState(id, type, key, config, 0);
  return {
    ...s,
    status: "running",
    messages,
    usage: o.used ?? usage(0),
    turn: {
      messageId: "m1",
      seq: 1,
      startIndex: 0,
      startedAt: 0,
      iterations: o.iterations ?? 0,
      usage: usage(o.turnTokens ?? 0),
      awaiting: [],
      decisions: Object.fromEntries((o.decided ?? []).map((c) => [c, { approve: true, by: "operator", at: 1 }])),
    },
  };
}

const tiers =
  (map: Record<string, CallTier["tier"]>) =>
  (u: ToolUseBlock): CallTier =>
    u.name === "pay" && (u.input as { amount?: number }).amount! > 100 ? { tier: "approval", policy: { tier: "approval", rule: 0, name: "large" } } : { tier: map[u.name] ?? "auto" };

const cases: [string, AgentState, Record<string, CallTier["tier"]>, NextStep][] = [
  ["the turn's message came last: the model speaks", midTurn([user]), {}, { kind: "call_model" }],
  ["tool results came last: the model speaks", midTurn([user, asks(use("pay", { amount: 5 })), results]), {}, { kind: "call_model" }],
  ["an answer without tools: finish with its text", midTurn([user, answer]), {}, { kind: "finish", reply: "hello there" }],
  ["tools that may run: run them all", midTurn([user, asks(use("pay", { amount: 5 }), use("recall"))]), {}, { kind: "run_tools", uses: [use("pay", { amount: 5 }), use("recall")] }],
  ["a denied tool still goes to the batch (it answers the denial)", midTurn([user, asks(use("rm"))]), { rm: "deny" }, { kind: "run_tools", uses: [use("rm")] }],
  ["an approval-tier tool without a decision: wait", midTurn([user, asks(use("send"), use("recall"))]), { send: "approval" }, { kind: "await_approval", calls: [{ use: use("send") }] }],
  ["a policy's approval carries the rule", midTurn([user, asks(use("pay", { amount: 500 }))]), {}, { kind: "await_approval", calls: [{ use: use("pay", { amount: 500 }), policy: { tier: "approval", rule: 0, name: "large" } }] }],
  ["an approval-tier tool already decided: run", midTurn([user, asks(use("send"))], { decided: ["toolu_send"] }), { send: "approval" }, { kind: "run_tools", uses: [use("send")] }],
  ["the iteration limit reached: stop", midTurn([user, asks(use("recall")), results], { iterations: 5 }), {}, { kind: "stop", reason: { code: "iteration_limit", message: expect.any(String) as unknown as string }, deadLetter: false }],
  ["tokens per turn used up: stop", midTurn([user], { turnTokens: 50, limits: { maxTokensPerTurn: 50 } }), {}, { kind: "stop", reason: { code: "turn_token_limit", message: expect.any(String) as unknown as string }, deadLetter: false }],
  ["the token budget spent: stop and dead-letter", midTurn([user], { used: usage(1000), limits: { tokenBudget: 1000 } }), {}, { kind: "stop", reason: { code: "token_budget_exhausted", message: expect.any(String) as unknown as string }, deadLetter: true }],
  ["the cost budget spent: stop and dead-letter", midTurn([user], { used: usage(1, 2), limits: { costBudgetUsd: 2 } }), {}, { kind: "stop", reason: { code: "cost_budget_exhausted", message: expect.any(String) as unknown as string }, deadLetter: true }],
  ["limits are not checked before a response's tools have run", midTurn([user, asks(use("recall"))], { iterations: 5 }), {}, { kind: "run_tools", uses: [use("recall")] }],
];

describe("nextStep: what a turn does next, from its state alone", () => {
  it.each(cases)("%s", (_what, state, map, expected) => {
    expect(nextStep(state, tiers(map))).toEqual(expected);
  });
});
