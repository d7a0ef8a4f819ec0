// Approvals inbox: GET /v1/approvals across the cluster; decide with POST …/approvals/{callId}.
import { api, errorText } from "./api.js";
import { agentLink, duration, fill, h, json, time } from "./dom.js";
import { every } from "./poll.js";

/** @param {HTMLElement} main */
export function renderApprovals(main) {
  const body = h("tbody");
  const info = h("p", { class: "muted" });
  fill(
    main,
    h("h1", null, "Approvals"),
    h("p", { class: "muted" }, "Tool calls waiting for a person, on every host. The turn resumes once no call of it waits."),
    h("table", { id: "approvals" }, h("thead", null, h("tr", null, ["Agent", "Tool", "Arguments", "Requested", "Deadline", "Decision"].map((c) => h("th", null, c)))), body),
    info,
  );
  // Rows are kept by call, so a reason being typed survives the refresh.
  /** @type {Map<string, HTMLElement>} */
  const rows = new Map();
  const row = (/** @type {any} */ a) => {
    const reason = h("input", { class: "reason", placeholder: "reason (optional)", size: 18 });
    const out = h("span", { class: "error" });
    const decide = async (/** @type {boolean} */ approve) => {
      try {
        const r = /** @type {HTMLInputElement} */ (reason).value.trim();
        await api("POST", `/v1/agents/${a.agent}/approvals/${encodeURIComponent(a.callId)}`, { approve, ...(r ? { reason: r } : {}) });
        tr.remove();
        rows.delete(`${a.agent}|${a.callId}`);
        fill(info, `${approve ? "Approved" : "Denied"} ${a.tool} of ${a.agent}.`);
      } catch (e) {
        fill(out, errorText(e));
      }
    };
    const deadline = h("td", { class: "deadline" });
    const tr = h(
      "tr",
      { class: "approval", "data-agent": a.agent, "data-call": a.callId },
      h("td", null, agentLink(a.agent)),
      h("td", null, a.tool, a.policy?.name ? h("div", { class: "muted" }, `rule: ${a.policy.name}`) : null),
      h("td", null, h("pre", null, json(a.input))),
      h("td", null, time(a.requestedAt)),
      deadline,
      h("td", null, reason, h("button", { class: "approve", type: "button", onclick: () => decide(true) }, "Approve"), h("button", { class: "deny", type: "button", onclick: () => decide(false) }, "Deny"), out),
    );
    return tr;
  };
  const stop = every(2000, async () => {
    try {
      const { approvals } = await api("GET", "/v1/approvals");
      const seen = new Set();
      for (const a of approvals) {
        const k = `${a.agent}|${a.callId}`;
        seen.add(k);
        let tr = rows.get(k);
        if (!tr) {
          tr = row(a);
          rows.set(k, tr);
          body.appendChild(tr);
        }
        const left = a.deadline - Date.now();
        fill(/** @type {HTMLElement} */ (tr.querySelector(".deadline")), left > 0 ? `in ${duration(left)}` : "due");
      }
      for (const [k, tr] of rows) if (!seen.has(k)) (tr.remove(), rows.delete(k));
      if (rows.size === 0) fill(info, "Nothing waits for a decision.");
    } catch (e) {
      fill(info, errorText(e));
    }
  });
  return stop;
}
