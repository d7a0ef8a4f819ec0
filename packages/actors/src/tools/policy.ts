import { z } from "zod";
import type { PermissionTier } from "./tool.ts";

/**
 * Argument-level policies: rules that choose a tool call's permission tier
 * from its arguments ("approval when amount > 100", "deny when url is
 * outside these hosts"). Rules are checked in order and the first that
 * matches decides; when none matches, the tier from the agent's
 * `permissions` (or the tool's own) applies.
 *
 * A rule is `{ when: { path, op, value? }, tier, name? }`:
 * - `path` is dotted into the arguments (`order.amount`, `items.0.price`:
 *   array elements by index); only own properties are followed.
 * - `op` is one of {@link POLICY_OPS}; `value` must fit it (a number for
 *   gt/gte/lt/lte, a scalar for eq/ne, a list of scalars for in/notIn, a
 *   regular expression for matches, a list of host names for hostIn/hostNotIn,
 *   none for exists).
 */

/** Longest `matches` pattern, and longest string it is run against. */
export const MAX_POLICY_PATTERN_LENGTH = 200;
export const MAX_POLICY_MATCH_INPUT = 4_096;
export const MAX_POLICY_RULES_PER_TOOL = 32;
export const MAX_POLICY_LIST = 256;

export const POLICY_OPS = ["gt", "gte", "lt", "lte", "eq", "ne", "in", "notIn", "matches", "hostIn", "hostNotIn", "exists"] as const;
export type PolicyOp = (typeof POLICY_OPS)[number];

const pathSchema = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+){0,15}$/, "a dotted path into the arguments, e.g. order.amount or items.0.price");
const scalarSchema = z.union([z.string().max(1_000), z.number(), z.boolean(), z.null()]);
const scalarListSchema = z.array(scalarSchema).min(1).max(MAX_POLICY_LIST);
/** A host name, or `*.example.com` for every subdomain of example.com (not example.com itself). */
const hostListSchema = z
  .array(z.string().max(253).regex(/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$/, "a host name, *.domain, or [ipv6]"))
  .min(1)
  .max(MAX_POLICY_LIST);

/**
 * A quantified group holding a quantifier (`(a+)+`, `(\w*)*`) or a
 * backreference can backtrack for ages on a crafted input, and the input
 * comes from the model: refused at spawn time. A heuristic, not a proof; the
 * bounds on pattern and input length do the rest.
 */
function riskyPattern(p: string): string | null {
  if (/\\[1-9]|\\k</.test(p)) return "backreferences are not allowed";
  if (/\([^()]*[*+}][^()]*\)[*+{?]/.test(p)) return "a quantified group containing a quantifier may backtrack without end";
  try {
    new RegExp(p);
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  return null;
}

const conditionSchema = z.discriminatedUnion("op", [
  z.strictObject({ path: pathSchema, op: z.enum(["gt", "gte", "lt", "lte"]), value: z.number().refine(Number.isFinite, "a finite number") }),
  z.strictObject({ path: pathSchema, op: z.enum(["eq", "ne"]), value: scalarSchema }),
  z.strictObject({ path: pathSchema, op: z.enum(["in", "notIn"]), value: scalarListSchema }),
  z.strictObject({
    path: pathSchema,
    op: z.literal("matches"),
    value: z
      .string()
      .min(1)
      .max(MAX_POLICY_PATTERN_LENGTH)
      .superRefine((p, ctx) => {
        const why = riskyPattern(p);
        if (why) ctx.addIssue({ code: "custom", message: why });
      }),
  }),
  z.strictObject({ path: pathSchema, op: z.enum(["hostIn", "hostNotIn"]), value: hostListSchema }),
  z.strictObject({ path: pathSchema, op: z.literal("exists") }),
]);
export type PolicyCondition = z.infer<typeof conditionSchema>;

export const policyRuleSchema = z.strictObject({
  /** Shown in the trace and in a denial; low-cardinality by intent, never a metric label. */
  name: z.string().min(1).max(100).optional(),
  when: conditionSchema,
  tier: z.enum(["auto", "approval", "deny"]),
});
export type PolicyRule = z.infer<typeof policyRuleSchema>;

export const policyRulesSchema = z.array(policyRuleSchema).min(1).max(MAX_POLICY_RULES_PER_TOOL);

/** Which tier a call gets and why: `rule` is the index of the deciding rule, absent when none matched. */
export interface PolicyDecision {
  tier: PermissionTier;
  rule?: { index: number; name?: string };
  /**
   * The deciding rule could not be evaluated (path missing, value of the
   * wrong type) and matched because its tier is the cautious one.
   */
  cautious?: true;
}

/**
 * Chooses the tier of one call: the first rule that matches decides,
 * otherwise `fallback` (the agent's `permissions` or the tool's own tier).
 * Pure: the same rules and arguments always give the same decision, so the
 * turn's pause-for-approval check and the call itself agree.
 */
export function decideTier(rules: readonly PolicyRule[] | undefined, args: unknown, fallback: PermissionTier): PolicyDecision {
  for (const [index, rule] of (rules ?? []).entries()) {
    const m = evaluate(rule.when, args);
    // An undecidable comparison (gt on a string, matches on a missing
    // field) is decided in the cautious direction: a rule that restricts
    // (approval, deny) matches, a rule that relaxes (auto) does not. The
    // model writes the arguments; an argument shaped unexpectedly must not
    // slip past a threshold meant to stop it, nor earn a relaxation meant
    // for well-formed input. (The tool's own schema normally rules such
    // arguments out first; this covers permissive schemas.)
    const matched = m === "undecidable" ? rule.tier !== "auto" : m;
    if (!matched) continue;
    const decided: PolicyDecision = { tier: rule.tier, rule: rule.name === undefined ? { index } : { index, name: rule.name } };
    if (m === "undecidable") decided.cautious = true;
    return decided;
  }
  return { tier: fallback };
}

const MISSING = Symbol("missing");

/** Follows a dotted path through own properties and array indices. */
export function valueAt(args: unknown, path: string): unknown {
  let cur: unknown = args;
  for (const seg of path.split(".")) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(seg)) return MISSING;
      const i = Number(seg);
      if (i >= cur.length) return MISSING;
      cur = cur[i];
    } else if (typeof cur === "object" && cur !== null && Object.hasOwn(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else {
      return MISSING;
    }
  }
  return cur === undefined ? MISSING : cur;
}

/**
 * Equality and membership are defined for any value (a missing one equals
 * nothing), and hostIn treats anything that is not a URL with a host name as
 * outside every list, so those always decide, and ne/notIn/hostNotIn are the
 * exact negations of eq/in/hostIn: "deny when url hostNotIn [...]" denies a
 * missing or garbled url. Only ordering and pattern matching can be
 * undecidable (they need a number, a string).
 */
function evaluate(c: PolicyCondition, args: unknown): boolean | "undecidable" {
  const v = valueAt(args, c.path);
  switch (c.op) {
    case "exists":
      return v !== MISSING && v !== null;
    case "eq":
      return v === c.value;
    case "ne":
      return v !== c.value;
    case "in":
      return c.value.some((x) => x === v);
    case "notIn":
      return !c.value.some((x) => x === v);
    case "hostIn":
      return hostListed(v, c.value);
    case "hostNotIn":
      return !hostListed(v, c.value);
    case "matches":
      if (typeof v !== "string" || v.length > MAX_POLICY_MATCH_INPUT) return "undecidable";
      return new RegExp(c.value).test(v);
    default: {
      if (typeof v !== "number" || !Number.isFinite(v)) return "undecidable";
      const x = c.value;
      return c.op === "gt" ? v > x : c.op === "gte" ? v >= x : c.op === "lt" ? v < x : v <= x;
    }
  }
}

/** The URL's host name against a list (exact, or `*.domain` for its subdomains); not a URL → not listed. */
function hostListed(v: unknown, hosts: readonly string[]): boolean {
  if (typeof v !== "string") return false;
  let host: string;
  try {
    host = new URL(v).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return false;
  }
  if (host === "") return false;
  return hosts.some((h) => {
    const entry = h.toLowerCase();
    return entry.startsWith("*.") ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry;
  });
}
