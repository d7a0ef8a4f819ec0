import type { PendingApproval } from "@colony/actors";
import type { AgentView, MessagePage } from "../agent-view.ts";
import type { SendReply, TracePage } from "./client.ts";
import { clip, relative, table } from "./run.ts";

/** Which argument-policy rule chose the tier, for the trace listing. */
function policyNote(p: { tier: string; rule: number | null; name?: string | undefined; cautious?: true | undefined } | undefined): string {
  if (!p) return "";
  if (p.rule === null) return ` [policy: no rule matched, ${p.tier}]`;
  return ` [policy rule ${p.rule}${p.name ? ` "${p.name}"` : ""}: ${p.tier}${p.cautious ? ", argument not comparable" : ""}]`;
}

/** One trace event as a line of text, for `colony agents trace`. */
export function describeEvent(e: TracePage["entries"][number]["event"]): string {
  switch (e.kind) {
    case "turn_started":
      return e.content;
    case "model_request":
      return `#${e.iteration} ${e.model}, ${e.messages} messages`;
    case "model_response":
      return `#${e.iteration} ${e.stopReason} in ${e.durationMs} ms, ${e.usage.inputTokens}+${e.usage.outputTokens} tokens${e.toolCalls.length ? `, calls ${e.toolCalls.map((t) => t.name).join(", ")}` : ""}${e.text ? `: ${e.text}` : ""}`;
    case "model_error":
      return `#${e.iteration} failed after ${e.durationMs} ms: ${e.error}`;
    case "tool_call":
      return `${e.tool} ${JSON.stringify(e.input)}${policyNote(e.policy)}`;
    case "tool_result":
      return `${e.tool} ${e.outcome} in ${e.durationMs} ms: ${e.content}${policyNote(e.policy)}`;
    case "approval_requested":
      return `${e.tool} ${JSON.stringify(e.input)} (call ${e.callId})${policyNote(e.policy)}`;
    case "approval_decided":
      return `${e.approve ? "approved" : "denied"} by ${e.by}${e.reason ? `: ${e.reason}` : ""}`;
    case "status":
      return `${e.status}${e.reason ? `: ${e.reason}` : ""}`;
    case "compaction":
      return `${e.messagesBefore} → ${e.messagesAfter} messages`;
    case "escalation":
      return `${e.code}: ${e.reason}`;
    case "dead_lettered":
      return `after ${e.attempts} attempt(s), ${e.code}: ${e.message} (dead letter ${e.id})`;
    case "turn_finished":
      return `${e.status}: ${e.reply}`;
    case "text_delta":
      return e.text;
  }
}

/** `colony agents send`: the reply, or what to do next when the turn is not done. */
export function printSendReply(out: { print(t: string): void; note(t: string): void }, id: string, reply: SendReply): void {
  if (reply.status === "accepted") {
    out.print(`accepted ${reply.messageId}${reply.duplicate ? " (duplicate)" : ""}`);
    out.note(`the message is stored and its turn will run; see it with: colony agents get ${id}`);
    return;
  }
  if (reply.status === "awaiting_approval") {
    out.print(`awaiting approval ${reply.messageId}`);
    for (const callId of reply.awaiting) out.note(`a tool call waits for approval: colony agents approve ${id} ${callId}`);
    return;
  }
  if (reply.reply) out.print(reply.reply);
  if (reply.status === "failed") out.note(`colony agents send: turn failed: ${reply.error?.code ?? "failed"}: ${reply.error?.message ?? "no reason given"}`);
  if (reply.duplicate) out.note(`(a duplicate of message ${reply.messageId}: this is the original's answer)`);
}

/** `colony agents approvals`: the waiting tool calls as a table. */
export function renderApprovals(approvals: PendingApproval[]): string {
  const now = Date.now();
  return table(
    ["AGENT", "CALL", "TOOL", "INPUT", "REQUESTED", "DEADLINE"],
    approvals.map((a) => [a.agent, a.callId, a.tool, clip(JSON.stringify(a.input) ?? ""), relative(a.requestedAt, now), relative(a.deadline, now)]),
  );
}

/** `colony agents get`: the state as aligned "field: value" lines. */
export function renderAgent(v: AgentView, messages?: MessagePage["messages"]): string {
  const u = v.usage;
  const lines: [string, string][] = [
    ["id", v.id],
    ["status", v.status],
    ["host", v.host ?? "- (not active)"],
    ["turns", String(v.turns)],
    ["usage", `${u.inputTokens} input + ${u.outputTokens} output tokens, $${u.costUsd.toFixed(4)}`],
    ["model", v.provider === "scripted" ? `${v.config.model} (runs as the offline scripted model: ANTHROPIC_API_KEY is unset)` : v.config.model],
    ["tools", v.config.tools.length ? v.config.tools.join(", ") : "-"],
  ];
  const perms = Object.entries(v.config.permissions ?? {});
  if (perms.length) lines.push(["permissions", perms.map(([t, p]) => `${t}=${p}`).join(", ")]);
  lines.push(["parent", v.parent ?? "-"], ["children", v.children.length ? v.children.join(", ") : "-"]);
  const memory = Object.entries(v.memory);
  if (memory.length) lines.push(["memory", memory.map(([k, val]) => `${k}=${clip(val, 40)}`).join(", ")]);
  for (const a of v.awaitingApproval) lines.push(["awaiting", `call ${a.callId}: ${a.tool} ${clip(JSON.stringify(a.input) ?? "")}`]);
  if (v.suspension) lines.push(["suspended", `${v.suspension.code}: ${v.suspension.reason}`]);
  if (v.lastError) lines.push(["last error", `${v.lastError.code}: ${v.lastError.message}`]);
  if (v.escalations.length) lines.push(["escalations", String(v.escalations.length)]);
  lines.push(["created", v.createdAt], ["updated", v.updatedAt]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  let text = lines.map(([k, val]) => `${`${k}:`.padEnd(width)} ${val}`).join("\n");
  if (messages) {
    for (const m of messages) {
      const parts = m.content.map((b) =>
        b.type === "text" ? b.text : b.type === "tool_use" ? `[tool ${b.name} ${clip(JSON.stringify(b.input) ?? "")}]` : `[result${b.isError ? " (error)" : ""}: ${clip(b.content)}]`,
      );
      text += `\n${m.role}: ${parts.join(" ")}`;
    }
  }
  return text;
}
