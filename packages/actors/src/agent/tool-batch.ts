import type { ToolResultBlock, ToolUseBlock } from "../model/messages.ts";
import { addUsage } from "../model/messages.ts";
import type { PermissionTier, ToolEffects } from "../tools/tool.ts";
import type { PolicyDecision } from "../tools/policy.ts";
import { decideTier } from "../tools/policy.ts";
import type { z } from "zod";
import type { policyTraceSchema } from "./events.ts";
import { preview } from "./events.ts";
import type { AgentState, PendingMessage } from "./state.ts";
import type { TurnDeps } from "./turn.ts";

/** Escalations kept in an agent's state (the oldest are dropped). */
export const MAX_ESCALATIONS = 50;

/** The tier a tool has for this agent before its arguments are looked at. */
export function tierOf(state: AgentState, deps: TurnDeps, tool: string): PermissionTier {
  return state.config.permissions?.[tool] ?? deps.tools.permissionOf(tool);
}

/** How the trace shows an argument policy's decision: the deciding rule's index (null: none matched) and name. */
export type PolicyTrace = z.infer<typeof policyTraceSchema>;

/**
 * The tier of one call: the agent's argument policies for the tool over the
 * arguments the tool would get, else {@link tierOf}. Used both to pause the
 * turn for approval and to run or deny the call, so they always agree.
 * `policy` is set only when the tool has policies (for the trace).
 */
export function callTier(state: AgentState, deps: TurnDeps, use: ToolUseBlock): { tier: PermissionTier; policy?: PolicyTrace } {
  const fallback = tierOf(state, deps, use.name);
  const rules = state.config.policies?.[use.name];
  if (!rules || rules.length === 0) return { tier: fallback };
  const d = decideTier(rules, deps.tools.argsFor(use.name, use.input), fallback);
  return { tier: d.tier, policy: policyTrace(d) };
}

function policyTrace(d: PolicyDecision): PolicyTrace {
  const t: PolicyTrace = { tier: d.tier, rule: d.rule?.index ?? null };
  if (d.rule?.name !== undefined) t.name = d.rule.name;
  if (d.cautious) t.cautious = true;
  return t;
}

/** How a batch reads and changes the turn's state (runTurn's own `state`). */
export interface BatchState {
  get(): AgentState;
  update(next: AgentState): void;
}

/**
 * Runs one model response's tool calls in parallel. Each result is applied
 * to the state (memory, spend, children, escalations, the turn's
 * `toolResults`) and checkpointed the moment it completes while a sibling
 * still runs, one checkpoint after another: a host dying while a sibling
 * still runs loses no finished call, and the next activation runs only the
 * calls without a result. Results that complete while a checkpoint is being
 * written go together in the next one (it writes the latest state): ten
 * parallel calls finishing at once cost two writes, not ten in a row.
 * Results that arrive once no sibling runs are left to the caller, whose
 * checkpoint follows at once (a single call, or the last of a fan-out, cost
 * a Redis round trip of their own before); if the batch was aborted they
 * are written here, as the caller will not get to.
 * Returns the results in call order; throws the first failed checkpoint.
 */
export async function runToolBatch(uses: ToolUseBlock[], message: PendingMessage["message"], deps: TurnDeps, st: BatchState, reportChild: (id: string) => void): Promise<ToolResultBlock[]> {
  const start = st.get();
  const memory = { ...start.memory };
  // A tool that outlives its call (timed out, ignoring its signal) must not
  // change memory that is already checkpointed.
  let open = true;
  const access = {
    get: (k: string) => (Object.hasOwn(memory, k) ? memory[k] : undefined),
    set: (k: string, v: string) => {
      if (open) memory[k] = v;
    },
  };
  let failed: { error: unknown } | undefined;
  // A result not yet in a checkpoint that started after it was applied.
  let unsaved = false;
  let saving: Promise<void> | undefined;
  const done = start.turn!.toolResults ?? {};
  const todo = uses.filter((u) => !done[u.id]);
  let running = todo.length;
  const save = async () => {
    while (unsaved && !failed && running > 0) {
      unsaved = false;
      try {
        await deps.checkpoint(st.get());
      } catch (error) {
        failed = { error };
      }
    }
    saving = undefined;
  };
  const record = (block: ToolResultBlock, effects: ToolEffects | undefined) => {
    apply(st, block, effects, { ...memory }, deps);
    unsaved = true;
    saving ??= save();
  };
  await Promise.all(todo.map(async (use) => {
    let out: Awaited<ReturnType<typeof runOne>>;
    try {
      out = await runOne(start, uses, use, message, deps, access, reportChild);
    } finally {
      // Before the result is recorded: the last one starts no checkpoint of its own.
      running--;
    }
    // A call cut short by the activation's abort (drain, fence) is no result:
    // the resumed turn runs it again (a delegate re-attaches to its worker).
    if (!deps.signal?.aborted) record(out.block, out.effects);
  }));
  open = false;
  await saving;
  if (failed) throw failed.error;
  if (deps.signal?.aborted) {
    if (unsaved) await deps.checkpoint(st.get());
    deps.signal.throwIfAborted();
  }
  const results = st.get().turn!.toolResults ?? {};
  return uses.map((u) => results[u.id]!);
}

function apply(st: BatchState, block: ToolResultBlock, effects: ToolEffects | undefined, memory: Record<string, string>, deps: TurnDeps): void {
  const state = st.get();
  const turn = state.turn!;
  const spent = effects?.usage;
  const escalation = effects?.escalation ? [{ ...effects.escalation, at: deps.clock.now() }] : [];
  for (const e of escalation) {
    deps.metrics.escalated(state.type);
    deps.emit?.({ kind: "escalation", code: e.code, reason: e.reason });
  }
  st.update({
    ...state,
    memory,
    children: [...new Set([...state.children, ...(effects?.children ?? [])])].filter((c) => !effects?.removedChildren?.includes(c)),
    usage: spent ? addUsage(state.usage, spent) : state.usage,
    escalations: [...state.escalations, ...escalation].slice(-MAX_ESCALATIONS),
    turn: { ...turn, usage: spent ? addUsage(turn.usage, spent) : turn.usage, toolResults: { ...turn.toolResults, [block.toolUseId]: block } },
  });
}

async function runOne(
  state: AgentState,
  uses: ToolUseBlock[],
  use: ToolUseBlock,
  message: PendingMessage["message"],
  deps: TurnDeps,
  memory: { get(k: string): string | undefined; set(k: string, v: string): void },
  reportChild: (id: string) => void,
): Promise<{ block: ToolResultBlock; effects?: ToolEffects }> {
  const i = uses.indexOf(use);
  const siblingsBefore = uses.slice(0, i).filter((u) => u.name === use.name).length;
  const { tier, policy } = callTier(state, deps, use);
  const traced = policy ? { policy } : {};
  const decision = state.turn!.decisions[use.id];
  if (tier === "deny" || (tier === "approval" && decision && !decision.approve)) {
    deps.metrics.toolCall(use.name, "denied");
    deps.emit?.({ kind: "tool_result", callId: use.id, tool: use.name, outcome: "denied", isError: true, content: "denied", durationMs: 0, ...traced });
    const why =
      tier !== "deny"
        ? `a person denied it${decision?.reason ? `: ${decision.reason}` : ""} (${decision!.by})`
        : policy && policy.rule !== null
          ? `argument policy rule ${policy.rule}${policy.name ? ` ("${policy.name}")` : ""} of ${use.name} chose deny`
          : "its permission tier is deny";
    return { block: { type: "tool_result", toolUseId: use.id, content: `tool call denied: ${why}`, isError: true } };
  }
  const idempotencyKey = `${state.id}:${message.messageId}:${use.id}`;
  deps.emit?.({ kind: "tool_call", callId: use.id, tool: use.name, input: use.input, idempotencyKey, ...traced });
  const started = deps.clock.now();
  const out = await deps.tools.call(use.name, use.input, state.config.tools, {
    agentId: state.id,
    messageId: message.messageId,
    toolUseId: use.id,
    idempotencyKey,
    memory,
    signal: deps.signal ?? new AbortController().signal,
    agent: state,
    siblingsBefore,
    reportChild,
    ...(message.traceparent ? { traceparent: message.traceparent } : {}),
  });
  deps.metrics.toolCall(use.name, out.outcome);
  deps.emit?.({
    kind: "tool_result",
    callId: use.id,
    tool: use.name,
    outcome: out.outcome,
    isError: out.isError ?? false,
    content: preview(out.content),
    durationMs: deps.clock.now() - started,
    ...traced,
    ...(out.details ? { details: out.details } : {}),
  });
  const block: ToolResultBlock = { type: "tool_result", toolUseId: use.id, content: out.content, isError: out.isError ?? false };
  return out.effects ? { block, effects: out.effects } : { block };
}
