import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { UsageError } from "./run.ts";

/** A comma-separated option value as its trimmed, non-empty items. */
export function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** An option value that must be a positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

/** `--config`: a JSON object, inline or `@file`; a UsageError otherwise. */
export function parseConfig(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let source = text;
  if (text.startsWith("@")) {
    try {
      source = readFileSync(text.slice(1), "utf8");
    } catch (e) {
      throw new UsageError(`--config ${text}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (e) {
    throw new UsageError(`--config is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new UsageError("--config must be a JSON object");
  return parsed as Record<string, unknown>;
}
