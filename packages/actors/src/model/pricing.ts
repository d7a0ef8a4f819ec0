import { z } from "zod";
import { ValidationError } from "../errors.ts";
import type { Usage } from "./messages.ts";

/**
 * What a model costs, in US dollars per million tokens, for each kind of
 * token the Messages API bills:
 * - `input`: uncached input tokens (`usage.input_tokens`),
 * - `output`: generated tokens (`usage.output_tokens`),
 * - `cacheRead`: input read from the prompt cache (`cache_read_input_tokens`),
 * - `cacheWrite`: input written to the prompt cache (`cache_creation_input_tokens`).
 */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/** A price table: model-name prefix → price. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * A list price from its input and output rates, with Anthropic's prompt-cache
 * multipliers: a cache read costs 0.1× input, a (5-minute) cache write 1.25×.
 */
export const listPrice = (input: number, output: number): ModelPrice => ({
  input,
  output,
  cacheRead: round(input * 0.1),
  cacheWrite: round(input * 1.25),
});

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/**
 * Anthropic list prices (USD per million tokens), keyed by model-name prefix.
 *
 * | prefix              | input | output | cache read | cache write |
 * |---------------------|------:|-------:|-----------:|------------:|
 * | `claude-opus-4`     | 15    | 75     | 1.50       | 18.75       |
 * | `claude-opus-4-5`   | 5     | 25     | 0.50       | 6.25        |
 * | `claude-sonnet-4`   | 3     | 15     | 0.30       | 3.75        |
 * | `claude-haiku-4`    | 1     | 5      | 0.10       | 1.25        |
 * | `claude-3-7-sonnet` | 3     | 15     | 0.30       | 3.75        |
 * | `claude-3-5-sonnet` | 3     | 15     | 0.30       | 3.75        |
 * | `claude-3-5-haiku`  | 0.80  | 4      | 0.08       | 1           |
 * | `claude-3-opus`     | 15    | 75     | 1.50       | 18.75       |
 * | `claude-3-haiku`    | 0.25  | 1.25   | 0.025      | 0.3125      |
 *
 * A model matches the longest prefix that is either its whole name or is
 * followed by `-` in it (`claude-sonnet-4-5-20250929` → `claude-sonnet-4`,
 * `claude-opus-4-5-20251101` → `claude-opus-4-5`). A model no prefix matches
 * costs 0 (its tokens are still counted). Prices change and new models
 * appear: pass `priceTable` to the provider to override or extend this table
 * rather than editing it (long-context and 1-hour cache surcharges are not
 * modelled).
 */
export const DEFAULT_PRICES: PriceTable = {
  "claude-opus-4": listPrice(15, 75),
  "claude-opus-4-5": listPrice(5, 25),
  "claude-sonnet-4": listPrice(3, 15),
  "claude-haiku-4": listPrice(1, 5),
  "claude-3-7-sonnet": listPrice(3, 15),
  "claude-3-5-sonnet": listPrice(3, 15),
  "claude-3-5-haiku": listPrice(0.8, 4),
  "claude-3-opus": listPrice(15, 75),
  "claude-3-haiku": listPrice(0.25, 1.25),
};

const rate = z.number().finite().nonnegative();
const priceTableSchema = z.record(z.string().min(1), z.object({ input: rate, output: rate, cacheRead: rate, cacheWrite: rate }).strict());

/**
 * DEFAULT_PRICES with `overrides` laid over it (an entry replaces the default
 * of the same prefix). Throws a ValidationError naming the bad entry.
 */
export function mergePrices(overrides: PriceTable | undefined, field = "priceTable"): PriceTable {
  if (overrides === undefined) return DEFAULT_PRICES;
  const parsed = priceTableSchema.safeParse(overrides);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = [field, ...issue.path.map(String)].join(".");
    throw new ValidationError(`${path}: ${issue.message}`, { field: path });
  }
  return Object.freeze({ ...DEFAULT_PRICES, ...parsed.data });
}

/** The price of `model`: the longest matching prefix in `table` (see DEFAULT_PRICES), or undefined. */
export function priceOf(model: string, table: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(table)) {
    const matches = model === prefix || model.startsWith(`${prefix}-`);
    if (matches && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best === undefined ? undefined : table[best];
}

/** Cost in USD of a response's usage; 0 for a model missing from the table. */
export function costOf(model: string, usage: Omit<Usage, "costUsd">, table: PriceTable = DEFAULT_PRICES): number {
  const p = priceOf(model, table);
  if (!p) return 0;
  return (usage.inputTokens * p.input + usage.outputTokens * p.output + usage.cacheReadTokens * p.cacheRead + usage.cacheWriteTokens * p.cacheWrite) / 1e6;
}
