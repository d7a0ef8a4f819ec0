// One agent: its state, usage against budgets, memory, config, delegation
// tree, conversation (paged), the live turn (server-sent events), the trace
// as a per-turn timeline, a message form, and Resume when it is suspended.
import { api, errorText, stream } from "./api.js";
import { agentLink, badge, duration, fill, h, json, time } from "./dom.js";
import { every } from "./poll.js";
import { timeline } from "./timeline.js";

const CONVERSATION_PAGE = 50;
const TREE_NODES = 60;

/** @param {HTMLElement} main @param {string} id "type/key" */
export function renderAgent(main, id) {
  const head = h("div", { id: "agent-head" });
  const suspension = h("div", { id: "suspension", hidden: true });
  const usage = h("div", { id: "usage" });
  const memory = h("div", { id: "memory" });
  const config = h("pre", { id: "config" });
  const tree = h("div", { id: "tree" });
  const conversation = h("div", { id: "conversation" });
  const earlier = h("button", { id: "earlier", type: "button", hidden: true }, "Earlier messages");
  const live = h("div", { id: "live" });
  const trace = h("div", { id: "trace" });
  const deadLetters = h("div", { id: "dead-letters" });
  const error = h("p", { id: "agent-error", class: "error", hidden: true });
  const input = h("textarea", { id: "send-input", rows: 2, placeholder: "Message to the agent" });
  const sendOut = h("span", { id: "send-result", class: "muted" });
  const controller = new AbortController();
  /** Position of the first conversation message shown. */
  let firstShown = 0;

  const send = async (/** @type {Event} */ e) => {
    e.preventDefault();
    const content = /** @type {HTMLTextAreaElement} */ (input).value;
    if (!content.trim()) return;
    try {
      // wait=false: the reply shows as it streams (live turn) and in the conversation once done.
      const out = await api("POST", `/v1/agents/${id}/messages`, { content, wait: false });
      /** @type {HTMLTextAreaElement} */ (input).value = "";
      fill(sendOut, `sent (${out.messageId})`);
      sendOut.className = "muted";
      refresh();
    } catch (err) {
      fill(sendOut, errorText(err));
      sendOut.className = "error";
    }
  };

  fill(
    main,
    h("h1", null, "Agent ", h("span", { class: "mono" }, id)),
    error,
    head,
    suspension,
    h("div", { class: "columns" },
      h("section", null,
        h("h2", null, "Conversation"), earlier, conversation,
        h("form", { id: "send-form", onsubmit: send }, input, h("button", { id: "send-button", type: "submit" }, "Send"), sendOut),
        h("h2", null, "Live turn"), live,
        h("h2", null, "Trace"), trace),
      h("aside", null,
        h("h2", null, "Usage"), usage,
        h("h2", null, "Delegation"), tree,
        h("h2", null, "Memory"), memory,
        h("h2", null, "Dead letters"), deadLetters,
        h("h2", null, "Config"), config)),
  );

  /** @param {any} view */
  function showState(view) {
    error.hidden = true;
    fill(
      head,
      h("dl", { class: "facts" },
        h("dt", null, "status"), h("dd", { id: "agent-status", "data-status": view.status }, badge(view.status)),
        h("dt", null, "host"), h("dd", null, view.host ?? "passivated"),
        h("dt", null, "turns"), h("dd", null, view.turns),
        h("dt", null, "model"), h("dd", null, `${view.config.model} (${view.provider})`),
        h("dt", null, "messages"), h("dd", null, view.messageCount),
        view.lastError && [h("dt", null, "last error"), h("dd", { class: "error" }, `${view.lastError.code}: ${view.lastError.message}`)],
        view.awaitingApproval.length > 0 && [h("dt", null, "awaiting"), h("dd", null, h("a", { href: "#/approvals" }, `${view.awaitingApproval.length} approval(s)`))]),
    );
    suspension.hidden = view.suspension === null;
    if (view.suspension) {
      const out = h("span", { class: "error" });
      fill(
        suspension,
        h("b", null, "Suspended"), ` since ${time(view.suspension.at)} (${view.suspension.code}): `,
        h("span", { id: "suspension-reason" }, view.suspension.reason), " ",
        h("button", {
          id: "resume", type: "button",
          onclick: async () => {
            try {
              showState(await api("POST", `/v1/agents/${id}/resume`));
            } catch (e) {
              fill(out, errorText(e));
            }
          },
        }, "Resume"),
        out,
      );
    }
    const used = view.usage.inputTokens + view.usage.outputTokens;
    const limits = view.config.limits ?? {};
    fill(
      usage,
      bar("tokens", used, limits.tokenBudget, String),
      bar("cost", view.usage.costUsd, limits.costBudgetUsd, (v) => `$${v.toFixed(4)}`),
      h("p", { class: "muted" }, `input ${view.usage.inputTokens}, output ${view.usage.outputTokens}, cache read ${view.usage.cacheReadTokens}, cache write ${view.usage.cacheWriteTokens}`),
    );
    const entries = Object.entries(view.memory);
    fill(memory, entries.length === 0 ? h("p", { class: "muted" }, "empty") : h("table", { class: "kv" }, entries.map(([k, v]) => h("tr", null, h("th", null, k), h("td", null, v)))));
    config.textContent = json(view.config);
  }

  async function showTree(/** @type {any} */ view) {
    /** @type {number} */
    let budget = TREE_NODES;
    /** @returns {Promise<HTMLElement>} */
    const node = async (/** @type {any} */ v, /** @type {number} */ depth) => {
      const kids = depth < 3 ? await Promise.all(v.children.slice(0, Math.max(0, budget)).map(async (/** @type {string} */ c) => {
        budget--;
        try {
          return await node(await api("GET", `/v1/agents/${c}`), depth + 1);
        } catch {
          return h("li", null, agentLink(c), " ", h("span", { class: "muted" }, "(gone)"));
        }
      })) : [];
      return h("li", null, v.id === id ? h("b", null, v.id) : agentLink(v.id), " ", badge(v.status), kids.length > 0 && h("ul", null, kids));
    };
    const parent = view.parent ? h("p", null, "parent: ", agentLink(view.parent)) : null;
    fill(tree, parent, view.children.length === 0 && !parent ? h("p", { class: "muted" }, "no parent, no workers") : h("ul", { class: "tree" }, await node(view, 0)));
  }

  /** @param {any[]} messages */
  const rows = (messages) => messages.map((m) => h("div", { class: `msg ${m.role}` }, h("span", { class: "role" }, m.role), m.content.map(block)));

  async function showConversation(/** @type {number} */ count) {
    firstShown = Math.max(0, count - CONVERSATION_PAGE);
    const page = await api("GET", `/v1/agents/${id}/messages?cursor=${firstShown}&limit=${CONVERSATION_PAGE}`);
    fill(conversation, page.messages.length === 0 ? h("p", { class: "muted" }, "no messages yet") : rows(page.messages));
    /** @type {HTMLButtonElement} */ (earlier).hidden = firstShown === 0;
  }
  earlier.addEventListener("click", async () => {
    const from = Math.max(0, firstShown - CONVERSATION_PAGE);
    const page = await api("GET", `/v1/agents/${id}/messages?cursor=${from}&limit=${firstShown - from}`);
    conversation.prepend(...rows(page.messages));
    firstShown = from;
    /** @type {HTMLButtonElement} */ (earlier).hidden = firstShown === 0;
  });

  async function showTrace() {
    /** @type {any[]} */
    const entries = [];
    let cursor = null;
    do {
      const page = await api("GET", `/v1/agents/${id}/trace?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      entries.push(...page.entries);
      cursor = page.nextCursor;
    } while (cursor && entries.length < 2000);
    fill(trace, timeline(entries));
  }

  async function showDeadLetters() {
    const { deadLetters: list } = await api("GET", `/v1/agents/${id}/dead-letters?limit=20`);
    /** Replays or discards one dead letter, then shows the list again. @param {string} method @param {string} path */
    const act = (method, path) => async () => {
      try {
        await api(method, path);
        lastUpdated = "";
        await refresh();
      } catch (e) {
        fill(error, errorText(e));
        error.hidden = false;
      }
    };
    fill(
      deadLetters,
      list.length === 0
        ? h("p", { class: "muted" }, "none")
        : h(
            "ul",
            null,
            list.map((/** @type {any} */ d) => {
              const path = `/v1/agents/${id}/dead-letters/${encodeURIComponent(d.id)}`;
              return h(
                "li",
                { class: "dead-letter" },
                h("b", null, d.reason.code),
                ` after ${d.attempts} attempt(s): `,
                d.message.content,
                " ",
                h("button", { class: "replay", onclick: act("POST", `${path}/replay`) }, "Replay"),
                " ",
                h("button", { class: "discard", onclick: act("DELETE", path) }, "Discard"),
              );
            }),
          ),
    );
  }

  let lastUpdated = "";
  async function refresh() {
    try {
      const view = await api("GET", `/v1/agents/${id}`);
      showState(view);
      // Conversation, trace and tree change only when the agent does.
      const stamp = `${view.updatedAt}|${view.messageCount}|${view.status}|${view.children.length}`;
      if (stamp === lastUpdated) return;
      lastUpdated = stamp;
      await Promise.all([showConversation(view.messageCount), showTrace(), showTree(view), showDeadLetters()]);
    } catch (e) {
      fill(error, errorText(e));
      error.hidden = false;
    }
  }

  const stopPolling = every(2500, refresh);
  followLive(id, live, controller.signal, refresh);
  return () => {
    stopPolling();
    controller.abort();
  };
}

/**
 * A bar of `used` against `budget`, or the figure alone when there is no budget.
 * @param {string} label @param {number} used @param {number | undefined} budget @param {(v: number) => string} fmt
 */
function bar(label, used, budget, fmt) {
  if (!budget) return h("div", { class: "bar-row" }, h("span", null, label), " ", fmt(used), h("span", { class: "muted" }, " (no budget)"));
  const pct = Math.min(100, (used / budget) * 100);
  const meter = h("div", { class: "bar" }, h("div", { class: `fill ${pct >= 90 ? "hot" : ""}` }));
  /** @type {HTMLElement} */ (meter.firstChild).style.width = `${pct}%`;
  return h("div", { class: "bar-row", "data-label": label }, h("span", null, `${label} ${fmt(used)} of ${fmt(budget)}`), meter);
}

/** One content block of a message, as text. @param {any} b */
function block(b) {
  if (b.type === "text") return h("div", { class: "text" }, b.text);
  if (b.type === "tool_use") return h("div", { class: "tool-use" }, h("b", null, `→ ${b.name}`), " ", h("code", null, JSON.stringify(b.input)));
  if (b.type === "tool_result") return h("div", { class: `tool-result ${b.isError ? "error" : ""}` }, h("b", null, "← result"), " ", h("code", null, b.content));
  return h("div", null, json(b));
}

/**
 * The live turn: follows GET …/events for as long as the page is open,
 * reconnecting after a dropped stream; text deltas accumulate in one line.
 * @param {string} id @param {HTMLElement} live @param {AbortSignal} signal @param {() => void} changed
 */
async function followLive(id, live, signal, changed) {
  /** @type {HTMLElement | null} */
  let reply = null;
  const line = (/** @type {string} */ cls, /** @type {unknown[]} */ ...parts) => {
    live.appendChild(h("div", { class: `ev ${cls}` }, parts));
    while (live.children.length > 200) live.firstChild?.remove();
    live.scrollTop = live.scrollHeight;
  };
  const onEvent = (/** @type {string} */ kind, /** @type {any} */ rec) => {
    if (kind === "ready") return line("muted", "following the live turn…");
    if (kind === "lagged") return line("error", `${rec.missed} events dropped (this page read too slowly)`);
    const e = rec.event;
    if (!e) return;
    switch (e.kind) {
      case "turn_started":
        reply = null;
        return line("started", `turn ${rec.turn} started: `, e.content);
      case "text_delta":
        if (!reply) {
          reply = h("span", { class: "reply" });
          line("text", reply);
        }
        reply.textContent += e.text;
        return;
      case "tool_call":
        reply = null;
        return line("tool", `→ ${e.tool} `, h("code", null, JSON.stringify(e.input)));
      case "tool_result":
        return line(e.isError ? "error" : "tool", `← ${e.tool} ${e.outcome} in ${duration(e.durationMs)}: `, h("code", null, e.content));
      case "approval_requested":
        changed();
        return line("approval", `waiting for approval: ${e.tool} `, h("code", null, JSON.stringify(e.input)), " ", h("a", { href: "#/approvals" }, "decide"));
      case "approval_decided":
        return line("approval", `${e.approve ? "approved" : "denied"} by ${e.by}${e.reason ? `: ${e.reason}` : ""}`);
      case "status":
        changed();
        return line("status", `status ${e.status}${e.reason ? `: ${e.reason}` : ""}`);
      case "escalation":
        return line("error", `escalation ${e.code}: ${e.reason}`);
      case "turn_finished":
        reply = null;
        changed();
        return line(e.status === "completed" ? "done" : "error", `turn ${rec.turn} ${e.status}${e.error ? ` (${e.error.code})` : ""}`);
      default:
        return;
    }
  };
  while (!signal.aborted) {
    try {
      await stream(`/v1/agents/${id}/events`, onEvent, signal);
    } catch (e) {
      if (signal.aborted) return;
      line("error", `live stream: ${errorText(e)}; reconnecting`);
    }
    // A stream that ended (a host draining) or failed is opened again, not in a tight loop.
    await new Promise((r) => setTimeout(r, 2000));
  }
}
