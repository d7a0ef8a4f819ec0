import { z } from "zod";
import { AGENT_TYPE_PATTERN } from "../ids.ts";
import { policyRulesSchema } from "../tools/policy.ts";

/** Bounds the runtime enforces on an agent: per turn, and over its life (budgets). */
export const limitsSchema = z.strictObject({
  maxIterationsPerTurn: z.number().int().min(1).max(1000).optional(),
  maxTokensPerTurn: z.number().int().min(1).optional(),
  tokenBudget: z.number().int().min(1).optional(),
  costBudgetUsd: z.number().positive().optional(),
});
export type Limits = z.infer<typeof limitsSchema>;

export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
export const toolNameSchema = z.string().regex(TOOL_NAME_PATTERN, "tool names match ^[a-zA-Z0-9_-]{1,64}$");

const systemPromptSchema = z.string().max(100_000);
const modelSchema = z.string().min(1).max(200);

/** A worker profile's name: the grammar of an agent type (a worker's id is built from it). */
export const workerProfileNameSchema = z.string().regex(AGENT_TYPE_PATTERN, `worker profile names match ${AGENT_TYPE_PATTERN.source}`);

export const workerProfileSchema = z.strictObject({
  systemPrompt: systemPromptSchema.optional(),
  model: modelSchema.optional(),
  tools: z.array(toolNameSchema).max(64).optional(),
  limits: limitsSchema.optional(),
});
export type WorkerProfile = z.infer<typeof workerProfileSchema>;

export const permissionTierSchema = z.enum(["auto", "approval", "deny"]);

/** Longest idle time one may configure before passivation: a day. */
export const MAX_IDLE_MS = 24 * 60 * 60 * 1000;

/** Failed attempts of a turn in a row after which its message is dead-lettered (see DeadLetterConfig). */
export const DEFAULT_DEAD_LETTER_AFTER_FAILURES = 3;
/** Wait before the second attempt of a failed turn; doubled for each further one. */
export const DEFAULT_DEAD_LETTER_RETRY_DELAY_MS = 1_000;

/**
 * When a message's turn is given up and its message moved to the agent's
 * dead-letter list: after `afterFailures` failed attempts in a row (model
 * errors that survived the provider's own retries), waiting `retryDelayMs`
 * (doubled each time, at most a minute) between attempts. A spent budget
 * dead-letters at once: retrying cannot help until an operator acts.
 */
export const deadLetterConfigSchema = z.strictObject({
  afterFailures: z.number().int().min(1).max(20).optional(),
  retryDelayMs: z.number().int().min(0).max(60_000).optional(),
});
export type DeadLetterConfig = z.infer<typeof deadLetterConfigSchema>;

/**
 * The `config` of a spawn (and of a type's defaults). Every field is optional; unknown
 * fields are rejected so that a typo never silently does nothing.
 */
export const agentConfigSchema = z.strictObject({
  systemPrompt: systemPromptSchema.optional(),
  model: modelSchema.optional(),
  tools: z.array(toolNameSchema).max(64).optional(),
  idleMs: z.number().int().min(1).max(MAX_IDLE_MS).optional(),
  limits: limitsSchema.optional(),
  /** Per-tool permission tier for this agent, overriding the tool's own. */
  permissions: z.record(z.string().regex(TOOL_NAME_PATTERN, "tool names match ^[a-zA-Z0-9_-]{1,64}$"), permissionTierSchema).optional(),
  /**
   * Argument-level policies, by tool: rules that choose a call's tier from
   * its arguments, the first matching rule deciding; `permissions` (or the
   * tool's own tier) applies when none matches. See tools/policy.ts.
   */
  policies: z.record(z.string().regex(TOOL_NAME_PATTERN, "tool names match ^[a-zA-Z0-9_-]{1,64}$"), policyRulesSchema).optional(),
  /** Bounds on delegation: how deep a tree of workers may grow, how many children one agent may have, retries of a failed worker. */
  delegation: z
    .strictObject({
      maxDepth: z.number().int().min(0).max(10).optional(),
      maxChildren: z.number().int().min(1).max(1000).optional(),
      retries: z.number().int().min(0).max(5).optional(),
    })
    .optional(),
  /** When the context passes `atTokens` (estimated), turns older than the last `keepTurns` become a summary. */
  compaction: z.strictObject({ atTokens: z.number().int().min(100), keepTurns: z.number().int().min(1).max(100) }).optional(),
  /** How long a tool call may wait for a person's approval before it counts as denied. */
  approvalTimeoutMs: z.number().int().min(1).max(7 * 24 * 60 * 60 * 1000).optional(),
  workers: z.record(workerProfileNameSchema, workerProfileSchema).optional(),
  deadLetter: deadLetterConfigSchema.optional(),
});
export type AgentConfigInput = z.infer<typeof agentConfigSchema>;

/**
 * A config with every default applied: what an agent actually runs with, as
 * snapshots and GET responses hold it. Bounds are checked on the way in
 * (agentConfigSchema); this schema reads back what was stored, so it checks
 * shapes, not the bounds of the day.
 */
export const resolvedConfigSchema = z.object({
  systemPrompt: z.string(),
  model: z.string(),
  tools: z.array(z.string()),
  idleMs: z.number().int().positive().optional(),
  limits: limitsSchema.extend({ maxIterationsPerTurn: z.number().int().positive() }),
  workers: z.record(z.string(), workerProfileSchema),
  permissions: z.record(z.string(), permissionTierSchema).optional(),
  /** Argument-level policies by tool (a spawn's rules for a tool replace the type's rules for it). */
  policies: z.record(z.string(), policyRulesSchema).optional(),
  approvalTimeoutMs: z.number().int().positive().optional(),
  compaction: z.object({ atTokens: z.number().int(), keepTurns: z.number().int() }).optional(),
  delegation: z.object({ maxDepth: z.number().int().optional(), maxChildren: z.number().int().optional(), retries: z.number().int().optional() }).optional(),
  /** Set only when configured; defaults DEFAULT_DEAD_LETTER_* otherwise. */
  deadLetter: z.object({ afterFailures: z.number().int(), retryDelayMs: z.number().int() }).optional(),
});
export type AgentConfig = z.infer<typeof resolvedConfigSchema>;

export const DEFAULT_MODEL = "claude-sonnet-4-6";
export const DEFAULT_MAX_ITERATIONS_PER_TURN = 10;

/** Layers spawn-time overrides over a type's defaults; limits merge field by field. */
export function resolveConfig(defaults: AgentConfigInput, overrides: AgentConfigInput | undefined): AgentConfig {
  const o = overrides ?? {};
  const limits = { ...defaults.limits, ...o.limits };
  const resolved: AgentConfig = {
    systemPrompt: o.systemPrompt ?? defaults.systemPrompt ?? "",
    model: o.model ?? defaults.model ?? DEFAULT_MODEL,
    tools: [...new Set(o.tools ?? defaults.tools ?? [])],
    limits: { ...limits, maxIterationsPerTurn: limits.maxIterationsPerTurn ?? DEFAULT_MAX_ITERATIONS_PER_TURN },
    workers: { ...defaults.workers, ...o.workers },
  };
  const idleMs = o.idleMs ?? defaults.idleMs;
  if (idleMs !== undefined) resolved.idleMs = idleMs;
  const permissions = { ...defaults.permissions, ...o.permissions };
  if (Object.keys(permissions).length > 0) resolved.permissions = permissions;
  // Per tool, not per rule: a tool's rules are read in order as one list,
  // and interleaving two lists would change what the first match means.
  const policies = { ...defaults.policies, ...o.policies };
  if (Object.keys(policies).length > 0) resolved.policies = policies;
  const delegation = { ...defaults.delegation, ...o.delegation };
  if (Object.keys(delegation).length > 0) resolved.delegation = delegation;
  const compaction = o.compaction ?? defaults.compaction;
  if (compaction !== undefined) resolved.compaction = compaction;
  const approvalTimeoutMs = o.approvalTimeoutMs ?? defaults.approvalTimeoutMs;
  if (approvalTimeoutMs !== undefined) resolved.approvalTimeoutMs = approvalTimeoutMs;
  const deadLetter = { ...defaults.deadLetter, ...o.deadLetter };
  if (Object.keys(deadLetter).length > 0) {
    resolved.deadLetter = {
      afterFailures: deadLetter.afterFailures ?? DEFAULT_DEAD_LETTER_AFTER_FAILURES,
      retryDelayMs: deadLetter.retryDelayMs ?? DEFAULT_DEAD_LETTER_RETRY_DELAY_MS,
    };
  }
  return resolved;
}
