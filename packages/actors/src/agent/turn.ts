import { addUsage, zeroUsage } from "../model/messages.ts";
import { DEFAULT_COMPACTION, compact, estimateTokens } from "./compaction.ts";
import { preview } from "./events.ts";
import { turnTokensPassed } from "./limits.ts";
import { modelStep } from "./model-step.ts";
import type { NextStep } from "./next-step.ts";
import { nextStep } from "./next-step.ts";
import type { ApprovalRequest, AgentState, PendingMessage } from "./state.ts";
import { callTier, runToolBatch } from "./tool-batch.ts";
import type { TurnDeps, TurnOutcome } from "./turn-deps.ts";
import { appendMessages } from "./conversation.ts";
import { deadLetter, finish } from "./turn-end.ts";
import { TurnRun } from "./turn-run.ts";

export type { TurnDeps, TurnOutcome } from "./turn-deps.ts";
export { DEFAULT_MAX_RESPONSE_TOKENS } from "./model-step.ts";
export { MAX_IDENTICAL_TOOL_CALLS } from "./loop-detection.ts";
export { MAX_ESCALATIONS } from "./tool-batch.ts";

/** A tool call waiting for approval longer than this is denied. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * Runs (or resumes) the turn for one inbox message:
 * message → model → tools (in parallel) → model … until the model stops
 * asking for tools, a limit or budget ends the turn, the agent loops (its
 * circuit opens and it is suspended), or a tool call needs a person's
 * approval (the turn pauses). Resuming picks up after the last checkpointed
 * step, so no completed model or tool call repeats.
 */
export async function runTurn(initial: AgentState, pending: PendingMessage, deps: TurnDeps): Promise<TurnOutcome> {
  const run = new TurnRun(initial, pending, deps);
  if (run.state.turn?.messageId !== pending.message.messageId) {
    // Checked before a call: the common turn has nothing to compact and need not wait a tick for it.
    const compacting = startTurn(run);
    if (compacting) await compacting;
  }
  for (;;) {
    const state = run.state;
    const step = nextStep(state, (use) => callTier(state, deps, use));
    const outcome = await takeStep(run, step);
    if (outcome) return outcome;
  }
}

/** Takes one step of the turn; returns how the turn ends, or null to go on. */
async function takeStep(run: TurnRun, step: NextStep): Promise<TurnOutcome | null> {
  const { state, deps } = run;
  switch (step.kind) {
    case "finish":
      return finish(state, deps, { status: "completed", reply: step.reply });
    case "stop":
      if (step.deadLetter) return deadLetter(state, deps, run.pending, step.reason);
      return finish(state, deps, { status: "failed", reply: `Turn stopped: ${step.reason.message}`, code: step.reason.code });
    case "await_approval":
      return awaitApproval(run, step.calls);
    case "run_tools":
      return runTools(run, step.uses);
    case "call_model":
      return modelStep(run);
  }
}

/**
 * A new message: compacts a large context first, then adds the message and
 * the turn's bookkeeping. A promise only when it compacts.
 */
function startTurn(run: TurnRun): Promise<void> | undefined {
  const { pending } = run;
  run.emit({ kind: "turn_started", content: preview(pending.message.content) });
  run.emit({ kind: "status", status: "running" });
  if (estimateTokens(run.state.messages) > compactionPolicy(run.state).atTokens) return compactIfLarge(run).then(() => addMessage(run));
  addMessage(run);
  return undefined;
}

/** The turn's message joins the conversation, with the turn's bookkeeping. */
function addMessage(run: TurnRun): void {
  const { deps, pending } = run;
  const state = run.state;
  run.update({
    ...state,
    status: "running",
    messages: appendMessages(state.messages, [{ role: "user", content: [{ type: "text", text: pending.message.content }] }], deps.ownsConversation),
    turn: {
      messageId: pending.message.messageId,
      seq: pending.seq,
      startIndex: state.messages.length,
      startedAt: deps.clock.now(),
      iterations: 0,
      usage: zeroUsage(),
      awaiting: [],
      decisions: {},
    },
  });
}

const compactionPolicy = (state: AgentState) => state.config.compaction ?? DEFAULT_COMPACTION;

/** Compacts a context past its policy's size (the caller checked). */
async function compactIfLarge(run: TurnRun): Promise<void> {
  const { deps } = run;
  const state = run.state;
  const policy = compactionPolicy(state);
  try {
    const out = await compact(state.messages, { keepTurns: policy.keepTurns, model: deps.model, modelName: state.config.model, ...(deps.signal ? { signal: deps.signal } : {}) });
    if (!out) return;
    // Durable before the turn starts: a compaction is a model call, never repeated.
    run.emit({ kind: "compaction", messagesBefore: run.state.messages.length, messagesAfter: out.messages.length });
    run.update({ ...run.state, messages: out.messages, usage: addUsage(run.state.usage, out.usage) });
  } catch (e) {
    if (deps.signal?.aborted) throw e;
    // A failed compaction call leaves the context as it was; the turn goes on.
    return;
  }
  // Not swallowed: a stale checkpoint means a newer activation owns the
  // agent (this one must stop before its next model call); a store failure
  // is retried by the activation from the compacted state, so the
  // compaction call is not repeated.
  await deps.checkpoint(run.state);
}

/** Tool calls that need a person: records them as awaited, checkpoints, and pauses the turn. */
async function awaitApproval(run: TurnRun, calls: Extract<NextStep, { kind: "await_approval" }>["calls"]): Promise<TurnOutcome> {
  const { state, deps, emit } = run;
  const turn = state.turn!;
  const timeoutMs = state.config.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  const now = deps.clock.now();
  const awaiting: ApprovalRequest[] = calls.map(
    ({ use: u, policy }) =>
      turn.awaiting.find((a) => a.callId === u.id) ?? { callId: u.id, tool: u.name, input: u.input, requestedAt: now, deadline: now + timeoutMs, ...(policy ? { policy } : {}) },
  );
  for (const a of awaiting) emit({ kind: "approval_requested", callId: a.callId, tool: a.tool, input: a.input, deadline: a.deadline, ...(a.policy ? { policy: a.policy } : {}) });
  emit({ kind: "status", status: "awaiting_approval" });
  run.update({ ...state, status: "awaiting_approval", turn: { ...turn, awaiting } });
  await deps.checkpoint(run.state);
  return { kind: "paused", state: run.state };
}

/** Runs a batch of tool calls in parallel and adds their results; ends the turn if a worker's spend passed its token limit. */
async function runTools(run: TurnRun, uses: Extract<NextStep, { kind: "run_tools" }>["uses"]): Promise<TurnOutcome | null> {
  const { deps } = run;
  const update = (next: AgentState) => run.update(next);
  const reportChild = (id: string) => {
    if (!run.state.children.includes(id)) update({ ...run.state, children: [...run.state.children, id] });
  };
  const results = await runToolBatch(uses, run.pending.message, deps, { get: () => run.state, update }, reportChild);
  const { toolResults: _done, ...rest } = run.state.turn!;
  update({ ...run.state, status: "running", messages: appendMessages(run.state.messages, [{ role: "user", content: results }], deps.ownsConversation), turn: { ...rest, awaiting: [] } });
  // A worker's spend counts against the turn too.
  const over = turnTokensPassed(run.state);
  if (over) return finish(run.state, deps, { status: "failed", reply: `Turn stopped: ${over.message}`, code: over.code });
  await deps.checkpoint(run.state);
  return null;
}
