import { ValidationError } from "@colony/actors";
import { consistentHash } from "./consistent-hash.ts";
import { leastLoaded } from "./least-loaded.ts";
import { preferLocal } from "./prefer-local.ts";
import { randomPlacement } from "./random.ts";
import type { PlacementStrategy, StrategyName } from "./strategy.ts";
import { DEFAULT_STRATEGY, STRATEGY_NAMES } from "../settings.ts";

/** Every placement strategy, by the name configuration uses. */
export const strategies: Readonly<Record<StrategyName, PlacementStrategy>> = Object.freeze({
  "least-loaded": leastLoaded,
  random: randomPlacement,
  "prefer-local": preferLocal,
  "consistent-hash": consistentHash,
});

export { DEFAULT_STRATEGY, STRATEGY_NAMES };

export function isStrategyName(value: unknown): value is StrategyName {
  return typeof value === "string" && Object.hasOwn(strategies, value);
}

/** Parses a strategy name (from config or env); the error names `field`, the value and the choices. */
export function parseStrategyName(value: unknown, field = "placementStrategy"): StrategyName {
  if (isStrategyName(value)) return value;
  const shown = typeof value === "string" ? JSON.stringify(value) : `a ${value === null ? "null" : typeof value}`;
  throw new ValidationError(`${field} must be one of ${STRATEGY_NAMES.join(", ")}; got ${shown}`, { field, value });
}
