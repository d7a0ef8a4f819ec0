// Agents: GET /v1/agents, a page at a time; spawn with POST /v1/agents.
import { api, errorText } from "./api.js";
import { agentLink, badge, fill, h } from "./dom.js";

const PAGE = 50;
const KEY_CHARS = /^[A-Za-z0-9_-]*$/;

/**
 * The cursor that starts a listing at the first id beginning with `prefix`:
 * ids are listed in byte order after the cursor, so the cursor is the
 * prefix with its last character lowered by one and followed by "~", which
 * sorts after every character an id may hold.
 * @param {string} prefix
 */
export function cursorBefore(prefix) {
  if (prefix === "") return undefined;
  return `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) - 1)}~`;
}

/** @param {HTMLElement} main */
export function renderAgents(main) {
  const type = h("input", { id: "filter-type", placeholder: "type (e.g. assistant)", size: 18 });
  const prefix = h("input", { id: "filter-prefix", placeholder: "key prefix", size: 14 });
  const statusSel = h("select", { id: "filter-status" }, ["any status", "idle", "running", "awaiting_approval", "suspended"].map((s) => h("option", { value: s === "any status" ? "" : s }, s)));
  const body = h("tbody");
  const info = h("p", { class: "muted" });
  const more = h("button", { id: "agents-more", type: "button", hidden: true }, "Next page");
  /** @type {string | null | undefined} */
  let next;

  async function load(/** @type {boolean} */ reset) {
    const t = /** @type {HTMLInputElement} */ (type).value.trim();
    const p = /** @type {HTMLInputElement} */ (prefix).value.trim();
    const wanted = /** @type {HTMLSelectElement} */ (statusSel).value;
    if (!KEY_CHARS.test(p)) return fill(info, "A key prefix holds only letters, digits, _ and -.");
    const idPrefix = t ? `${t}/${p}` : "";
    if (reset) {
      fill(body);
      next = t && p ? cursorBefore(idPrefix) : undefined;
    }
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (t) q.set("type", t);
    if (next) q.set("cursor", next);
    try {
      const page = await api("GET", `/v1/agents?${q}`);
      let shown = 0;
      let past = false;
      for (const a of page.agents) {
        if (idPrefix && !a.id.startsWith(idPrefix)) {
          if (a.id > idPrefix) past = true;
          continue;
        }
        if (wanted && a.status !== wanted) continue;
        shown++;
        body.appendChild(h("tr", { class: "agent", "data-id": a.id }, h("td", null, agentLink(a.id)), h("td", null, badge(a.status)), h("td", null, a.host ?? "passivated"), h("td", { class: "num" }, a.turns)));
      }
      next = past ? null : page.nextCursor;
      /** @type {HTMLButtonElement} */ (more).hidden = !next;
      fill(info, `${body.children.length} agent${body.children.length === 1 ? "" : "s"} shown${shown < page.agents.length ? " (others on this page filtered out)" : ""}${t ? "" : "; without a type, the key prefix filters this page only"}.`);
    } catch (e) {
      fill(info, errorText(e));
    }
  }

  const spawnType = h("input", { id: "spawn-type", placeholder: "type", value: "assistant", required: true, size: 14 });
  const spawnKey = h("input", { id: "spawn-key", placeholder: "key (optional)", size: 14 });
  const spawnConfig = h("textarea", { id: "spawn-config", rows: 2, cols: 50, placeholder: 'config JSON (optional), e.g. {"tools":["remember","recall"]}' });
  const spawnOut = h("span", { id: "spawn-result" });
  const spawn = async (/** @type {Event} */ e) => {
    e.preventDefault();
    /** @type {Record<string, unknown>} */
    const body = { type: /** @type {HTMLInputElement} */ (spawnType).value.trim() };
    const key = /** @type {HTMLInputElement} */ (spawnKey).value.trim();
    if (key) body.key = key;
    const cfg = /** @type {HTMLTextAreaElement} */ (spawnConfig).value.trim();
    try {
      if (cfg) body.config = JSON.parse(cfg);
      const view = await api("POST", "/v1/agents", body);
      location.hash = `#/agents/${view.id}`;
    } catch (err) {
      fill(spawnOut, errorText(err));
      spawnOut.className = "error";
    }
  };

  fill(
    main,
    h("h1", null, "Agents"),
    h("form", { id: "filter-form", class: "row", onsubmit: (/** @type {Event} */ e) => (e.preventDefault(), load(true)) }, type, prefix, statusSel, h("button", { type: "submit" }, "Filter")),
    h("table", { id: "agents" }, h("thead", null, h("tr", null, ["Agent", "Status", "Host", "Turns"].map((c) => h("th", null, c)))), body),
    info,
    more,
    h("h2", null, "Spawn an agent"),
    h("form", { id: "spawn-form", class: "row", onsubmit: spawn }, spawnType, spawnKey, spawnConfig, h("button", { id: "spawn-submit", type: "submit" }, "Spawn"), spawnOut),
  );
  more.addEventListener("click", () => load(false));
  load(true);
  return () => {};
}
