import type { Usage } from "./messages.ts";

/** US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

const price = (input: number, output: number): ModelPrice => ({ input, output, cacheRead: input * 0.1, cacheWrite: input * 1.25 });

/**
 * List prices by model-name prefix (longest prefix wins). Override or extend
 * with `priceTable` in the provider options when prices change.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  "claude-opus-4": price(15, 75),
  "claude-opus-4-5": price(5, 25),
  "claude-sonnet-4": price(3, 15),
  "claude-haiku-4": price(1, 5),
  "claude-3-5-haiku": price(0.8, 4),
  "claude-3-haiku": price(0.25, 1.25),
};

export function priceOf(model: string, table: Readonly<Record<string, ModelPrice>> = DEFAULT_PRICES): ModelPrice | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(table)) if (model.startsWith(prefix) && (!best || prefix.length > best.length)) best = prefix;
  return best === undefined ? undefined : table[best];
}

/** Cost of a response's usage; 0 for a model missing from the table. */
export function costOf(model: string, usage: Omit<Usage, "costUsd">, table?: Readonly<Record<string, ModelPrice>>): number {
  const p = priceOf(model, table);
  if (!p) return 0;
  return (usage.inputTokens * p.input + usage.outputTokens * p.output + usage.cacheReadTokens * p.cacheRead + usage.cacheWriteTokens * p.cacheWrite) / 1e6;
}
