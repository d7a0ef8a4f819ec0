// The execution trace as a timeline per turn: each step a bar placed at its
// start and as long as it took (model calls, tool calls, approval waits).
import { duration, h, time } from "./dom.js";

/**
 * Steps of one turn with start and end (epoch ms), from its trace entries.
 * @param {any[]} entries one turn's entries, oldest first
 * @returns {{kind: string, label: string, start: number, end: number, error: boolean}[]}
 */
export function steps(entries) {
  /** @type {{kind: string, label: string, start: number, end: number, error: boolean}[]} */
  const out = [];
  /** @type {Map<string, any>} */
  const approvals = new Map();
  for (const { at, event: e } of entries) {
    if (e.kind === "model_response") out.push({ kind: "model", label: `model call ${e.iteration} (${e.stopReason}, ${e.usage.inputTokens + e.usage.outputTokens} tokens)`, start: at - e.durationMs, end: at, error: false });
    else if (e.kind === "model_error") out.push({ kind: "model", label: `model call ${e.iteration} failed: ${e.error}`, start: at - e.durationMs, end: at, error: true });
    else if (e.kind === "tool_result") out.push({ kind: "tool", label: `${e.tool} ${e.outcome}`, start: at - e.durationMs, end: at, error: e.isError });
    else if (e.kind === "approval_requested") approvals.set(e.callId, { at, tool: e.tool });
    else if (e.kind === "approval_decided") {
      const asked = approvals.get(e.callId);
      approvals.delete(e.callId);
      if (asked) out.push({ kind: "wait", label: `approval of ${asked.tool}: ${e.approve ? "approved" : "denied"} by ${e.by}${e.reason ? `: ${e.reason}` : ""}`, start: asked.at, end: at, error: !e.approve });
    }
  }
  const last = entries.length ? entries[entries.length - 1].at : 0;
  for (const [, asked] of approvals) out.push({ kind: "wait", label: `approval of ${asked.tool}: waiting`, start: asked.at, end: Math.max(last, asked.at), error: false });
  return out.sort((a, b) => a.start - b.start);
}

/** @param {any[]} entries the agent's trace, oldest first */
export function timeline(entries) {
  /** @type {Map<number, any[]>} */
  const turns = new Map();
  for (const e of entries) {
    const list = turns.get(e.turn) ?? [];
    list.push(e);
    turns.set(e.turn, list);
  }
  if (turns.size === 0) return h("p", { class: "muted" }, "no trace yet");
  // Newest turn first: the one an operator usually wants.
  return [...turns.entries()].reverse().map(([turn, list]) => {
    const started = list.find((e) => e.event.kind === "turn_started");
    const finished = list.find((e) => e.event.kind === "turn_finished");
    const t0 = started?.at ?? list[0].at;
    const all = steps(list);
    const t1 = Math.max(finished?.at ?? list[list.length - 1].at, ...all.map((s) => s.end), t0 + 1);
    const span = t1 - t0;
    const status = finished ? finished.event.status : "running";
    const rows = all.map((s) => {
      const barEl = h("div", { class: `span ${s.kind} ${s.error ? "error" : ""}` });
      barEl.style.marginLeft = `${((s.start - t0) / span) * 100}%`;
      barEl.style.width = `${Math.max(0.5, ((s.end - s.start) / span) * 100)}%`;
      return h("div", { class: `step ${s.kind}` }, h("span", { class: "label", title: s.label }, s.label), h("div", { class: "lane" }, barEl), h("span", { class: "dur" }, duration(s.end - s.start)));
    });
    return h(
      "div",
      { class: "turn", "data-turn": turn, "data-status": status },
      h("div", { class: "turn-head" }, h("b", null, `Turn ${turn}`), ` ${time(t0)}, ${status}, ${duration(span)}`, started ? h("span", { class: "muted" }, ` — ${started.event.content}`) : null),
      rows.length ? rows : h("p", { class: "muted" }, "no model or tool steps"),
    );
  });
}
