import { createHash } from "node:crypto";
import { z } from "zod";
import type { AgentConfig, AgentConfigInput, AgentId, AgentState, ToolContext, ToolDefinition, ToolOutput, TurnResult, WorkerProfile } from "@colony/actors";
import { ColonyError, addUsage, agentId, defineTool, errorMessage, messageTiming, parseAgentKey, parseAgentType, toolCallTraceparent, untilAborted, workerProfileNameSchema } from "@colony/actors";

/** Workers are agents of the assistant type, each with its profile's config. */
const WORKER_TYPE = parseAgentType("assistant");

/** How long a delegation waits for its worker unless the model says otherwise. */
export const DEFAULT_DELEGATE_TIMEOUT_MS = 5 * 60_000;
/** Supervisor → worker → worker … at most this deep (a person's agent is depth 0). */
export const DEFAULT_MAX_DEPTH = 3;
/** Live workers (their task still running) one supervisor may have at a time. */
export const DEFAULT_MAX_CHILDREN = 32;
/** Extra attempts after a worker's turn fails, before the failure escalates. */
export const DEFAULT_DELEGATE_RETRIES = 1;

/** What the delegate tool needs from its host. */
export interface DelegationHost {
  /** Creates the worker agent unless it exists (a re-run of the same call re-attaches to it). */
  spawnChild(req: { type: string; key: string; config: AgentConfigInput; parent: AgentId; depth: number }): Promise<void>;
  /** Sends the task and waits up to waitMs: the turn's result, or null if it did not finish in time. */
  ask(id: AgentId, req: { content: string; idempotencyKey: string; waitMs: number; traceparent?: string }): Promise<TurnResult | null>;
  /** What became of each worker: deleted (`gone`), still working on a task (`busy`) or done (`finished`). */
  childActivity(ids: readonly string[]): Promise<Map<string, ChildActivity>>;
}

/** A worker as its supervisor's fan-out limit sees it. */
export type ChildActivity = "gone" | "busy" | "finished";

const input = z.strictObject({
  worker: workerProfileNameSchema.describe("a worker profile name from this agent's config.workers"),
  task: z.string().min(1).max(100_000),
  timeoutMs: z.number().int().min(100).max(60 * 60_000).optional(),
});

/**
 * The built-in `delegate` tool: spawns a child agent of the named worker
 * profile (placed by the directory, usually on another host), sends it the
 * task and returns its final reply. The child's id and the message's
 * idempotency key derive from the call's own key, so a turn resumed after a
 * crash re-attaches to the same worker and gets the result of a task it
 * already ran instead of running it again.
 */
export function delegateTool(host: DelegationHost): ToolDefinition<z.infer<typeof input>> {
  return defineTool({
    name: "delegate",
    description:
      "Delegate a subtask to a worker agent of one of your worker profiles and get its final answer. Several delegate calls in one response run in parallel.",
    input,
    // The tool waits for its own deadline (timeoutMs); the registry's must not cut it short.
    timeoutMs: 61 * 60_000,
    async run({ worker, task, timeoutMs }, ctx) {
      const sup = ctx.agent;
      const profile = sup.config.workers[worker];
      const limits = { maxDepth: DEFAULT_MAX_DEPTH, maxChildren: DEFAULT_MAX_CHILDREN, retries: DEFAULT_DELEGATE_RETRIES, ...sup.config.delegation };
      if (!profile) {
        const known = Object.keys(sup.config.workers);
        return { isError: true, content: `unknown worker profile "${worker}"; this agent's profiles: ${known.join(", ") || "none"}` };
      }
      if (sup.depth + 1 > limits.maxDepth) {
        return { isError: true, content: `depth limit: a worker at depth ${sup.depth + 1} would exceed delegation.maxDepth ${limits.maxDepth}; do the task yourself` };
      }
      const key = `${worker}-${createHash("sha256").update(ctx.idempotencyKey).digest("hex").slice(0, 24)}`;
      const child = agentId(WORKER_TYPE, parseAgentKey(key, "worker key"));
      // Only live workers count: a finished one frees its place, a deleted one leaves `children`.
      const activity = new Map(await activityOnce(host, sup));
      activity.delete(child);
      const gone = [...activity].filter(([, a]) => a === "gone").map(([id]) => id);
      const busy = [...activity.values()].filter((a) => a === "busy").length;
      // Parallel calls of one response count too: they all start from the same state.
      const planned = busy + (ctx.siblingsBefore ?? 0);
      // A re-run call re-attaches to its own worker: it takes no new place.
      if (!sup.children.includes(child) && planned >= limits.maxChildren) {
        const content = `fan-out limit: this agent may have at most ${limits.maxChildren} live workers (delegation.maxChildren); ${planned} are working now; wait for one to finish`;
        return { isError: true, content, ...(gone.length ? { effects: { removedChildren: gone } } : {}) };
      }
      await host.spawnChild({ type: "assistant", key, parent: sup.id, depth: sup.depth + 1, config: workerConfig(profile, sup.config) });
      // COLONY_MESSAGE_TIMING=1: the supervisor's message shows when each worker was ready and when it answered.
      messageTiming.mark(ctx.messageId, "delegate.spawned");
      ctx.reportChild?.(child);
      return runWorker(host, ctx, { worker, child, task, waitMs: timeoutMs ?? DEFAULT_DELEGATE_TIMEOUT_MS, retries: limits.retries, gone });
    },
  });
}

/**
 * The parallel delegate calls of one model response all see the same
 * supervisor state (ctx.agent is one object for the batch): they share one
 * look at its workers instead of each reading every worker's state again,
 * which for a supervisor with a history of N workers and a fan-out of k
 * was k·N reads.
 */
const sharedActivity = new WeakMap<Readonly<AgentState>, Promise<Map<string, ChildActivity>>>();

function activityOnce(host: DelegationHost, sup: Readonly<AgentState>): Promise<Map<string, ChildActivity>> {
  let pending = sharedActivity.get(sup);
  if (!pending) {
    pending = host.childActivity(sup.children);
    sharedActivity.set(sup, pending);
    // A failed look is not shared: the next call of the batch asks again.
    pending.catch(() => sharedActivity.delete(sup));
  }
  return pending;
}

/** A worker's config: its profile's, held to its supervisor's tiers, argument policies and delegation bounds. */
function workerConfig(profile: WorkerProfile, sup: AgentConfig): AgentConfigInput {
  return {
    ...(profile.systemPrompt !== undefined ? { systemPrompt: profile.systemPrompt } : {}),
    ...(profile.model !== undefined ? { model: profile.model } : {}),
    tools: profile.tools ?? [],
    ...(profile.limits ? { limits: profile.limits } : {}),
    // Workers may delegate in turn, with the same profiles, within the depth limit.
    workers: sup.workers,
    // A worker is held to its supervisor's tiers and argument policies:
    // delegating a call never loosens what would have guarded it.
    ...(sup.permissions ? { permissions: sup.permissions } : {}),
    ...(sup.policies ? { policies: sup.policies } : {}),
    ...(sup.delegation ? { delegation: sup.delegation } : {}),
  };
}

/** Sends the task to the worker and waits, trying a failed turn again up to `retries` times: the delegate call's output. */
async function runWorker(
  host: DelegationHost,
  ctx: ToolContext,
  o: { worker: string; child: AgentId; task: string; waitMs: number; retries: number; gone: string[] },
): Promise<ToolOutput> {
  const { worker, child, waitMs, gone } = o;
  // The worker's turn continues the trace under this call's own span (see toolCallTraceparent).
  const traceparent = ctx.traceparent ? toolCallTraceparent(ctx.traceparent, ctx.toolUseId) : undefined;
  let spent: TurnResult["usage"] | undefined;
  let why = "";
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    let result: TurnResult | null;
    try {
      // Stop waiting when the turn is cancelled (a drain): the task stays
      // accepted, and the resumed turn re-attaches to it by its key.
      result = await untilAborted(
        host.ask(child, {
          content: o.task,
          idempotencyKey: attempt === 0 ? ctx.idempotencyKey : `${ctx.idempotencyKey}:retry${attempt}`,
          waitMs,
          ...(traceparent ? { traceparent } : {}),
        }),
        ctx.signal,
      );
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      if (e instanceof ColonyError && e.code === "wrong_state") {
        const reason = `worker ${worker} (${child}) is suspended: ${errorMessage(e)}`;
        return { isError: true, content: reason, effects: { children: [child], removedChildren: gone, escalation: { code: "worker_suspended", reason } } };
      }
      why = `could not be reached: ${errorMessage(e)}`;
      continue;
    }
    messageTiming.mark(ctx.messageId, "delegate.answered");
    if (!result) {
      // Still running: retrying would queue the task twice. The model may wait or replan.
      return { isError: true, content: `worker ${worker} (${child}) timed out after ${waitMs} ms; the task is still running`, effects: { children: [child], removedChildren: gone } };
    }
    spent = spent ? addUsage(spent, result.usage) : result.usage;
    if (result.status === "completed") return { content: result.reply, effects: { children: [child], removedChildren: gone, usage: spent } };
    why = `failed: ${result.reply}`;
  }
  const reason = `worker ${worker} (${child}) ${why} (${o.retries + 1} attempts)`;
  return { isError: true, content: reason, effects: { children: [child], removedChildren: gone, escalation: { code: "worker_failed", reason }, ...(spent ? { usage: spent } : {}) } };
}
