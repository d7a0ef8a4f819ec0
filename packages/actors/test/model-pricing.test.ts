import { describe, expect, it } from "vitest";
import { ValidationError } from "../src/errors.ts";
import { DEFAULT_PRICES, costOf, listPrice, mergePrices, priceOf } from "../src/model/pricing.ts";

const usage = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) => ({ inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens });

describe("pricing", () => {
  it("matches the longest prefix that ends at a dash or the end of the name", () => {
    expect(priceOf("claude-opus-4-5-20251101")).toEqual(listPrice(5, 25));
    expect(priceOf("claude-opus-4-1-20250805")).toEqual(listPrice(15, 75));
    expect(priceOf("claude-sonnet-4-5")).toEqual(listPrice(3, 15));
    expect(priceOf("claude-haiku-4-5-20251001")).toEqual(listPrice(1, 5));
    expect(priceOf("claude-3-5-haiku-latest")).toEqual(listPrice(0.8, 4));
    expect(priceOf("claude-opus-45")).toBeUndefined();
    expect(priceOf("gpt-4")).toBeUndefined();
  });

  it("prices cache reads at 0.1× and cache writes at 1.25× input", () => {
    expect(listPrice(3, 15)).toEqual({ input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 });
    // 1M input $3 + 1M output $15 + 1M cache read $0.30 + 1M cache write $3.75
    expect(costOf("claude-sonnet-4-5", usage(1e6, 1e6, 1e6, 1e6))).toBeCloseTo(22.05, 9);
    expect(costOf("unknown", usage(1e6, 1e6))).toBe(0);
  });

  it("mergePrices lays overrides over the defaults and validates them", () => {
    const table = mergePrices({ "claude-sonnet-4": listPrice(6, 30), "house-model": listPrice(1, 1) });
    expect(priceOf("claude-sonnet-4-5", table)).toEqual(listPrice(6, 30));
    expect(priceOf("house-model-2", table)).toEqual(listPrice(1, 1));
    expect(priceOf("claude-haiku-4-5", table)).toEqual(DEFAULT_PRICES["claude-haiku-4"]);
    expect(mergePrices(undefined)).toBe(DEFAULT_PRICES);
    expect(() => mergePrices({ x: { input: 1, output: Number.NaN, cacheRead: 0, cacheWrite: 0 } })).toThrow(ValidationError);
    expect(() => mergePrices({ x: { input: 1, output: 1 } as never })).toThrow(/priceTable\.x\.cacheRead/);
  });
});
