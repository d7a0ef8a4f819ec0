import type { Usage } from "../model/messages.ts";
import type { AgentState } from "./state.ts";

/**
 * The turn's limits and the agent's budgets, as the turn loop checks them:
 * before a model call (may it be made, and how long may its answer be) and
 * after every step (has the turn gone past its token limit).
 */

/**
 * Every token a call processed. With prompt caching the API's `input_tokens`
 * counts only the uncached tail of the context; the cached part (read or
 * written) is still context the model read, so limits count it too and
 * mean the same with caching on or off.
 */
const tokens = (u: Usage) => u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens + u.outputTokens;

/** The turn's token limit, once its usage has gone past it (checked after every step). */
export function turnTokensPassed(state: AgentState): { code: string; message: string } | null {
  const limit = state.config.limits.maxTokensPerTurn;
  const used = tokens(state.turn!.usage);
  if (limit === undefined || used <= limit) return null;
  return { code: "turn_token_limit", message: `it used ${used} tokens, the limit per turn is ${limit} (limits.maxTokensPerTurn).` };
}

/** What the next response may write: the default, less what the turn's token limit has left. */
export function responseTokens(state: AgentState, maxResponse: number): number {
  const limit = state.config.limits.maxTokensPerTurn;
  if (limit === undefined) return maxResponse;
  return Math.max(1, Math.min(maxResponse, limit - tokens(state.turn!.usage)));
}

/** The limit or budget that forbids another model call, if any. */
export function limitReached(state: AgentState): { code: string; message: string } | null {
  const turn = state.turn!;
  const l = state.config.limits;
  if (turn.iterations >= l.maxIterationsPerTurn) {
    return { code: "iteration_limit", message: `it reached the limit of ${l.maxIterationsPerTurn} model calls (limits.maxIterationsPerTurn).` };
  }
  if (l.maxTokensPerTurn !== undefined && tokens(turn.usage) >= l.maxTokensPerTurn) {
    return { code: "turn_token_limit", message: `it used ${tokens(turn.usage)} tokens, the limit per turn is ${l.maxTokensPerTurn} (limits.maxTokensPerTurn).` };
  }
  if (l.tokenBudget !== undefined && tokens(state.usage) >= l.tokenBudget) {
    return { code: "token_budget_exhausted", message: `the agent has used ${tokens(state.usage)} tokens of its budget of ${l.tokenBudget} (limits.tokenBudget).` };
  }
  if (l.costBudgetUsd !== undefined && state.usage.costUsd >= l.costBudgetUsd) {
    return {
      code: "cost_budget_exhausted",
      message: `the agent has spent $${state.usage.costUsd.toFixed(4)} of its budget of $${l.costBudgetUsd} (limits.costBudgetUsd).`,
    };
  }
  return null;
}
