// Builds DOM from data without ever parsing data as markup: every string
// becomes a text node, so what an agent wrote (a reply, tool arguments,
// memory) shows as text and never runs. No string is ever parsed as HTML here.

/**
 * h("a", {href: "#/x", class: "c", onclick: fn}, "text", child, [more])
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...unknown} children strings, numbers, nodes, arrays of them, null/undefined/false (skipped)
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    else if (name === "value") /** @type {HTMLInputElement} */ (el).value = String(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Node} el @param {unknown[]} children */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. @param {Element} el @param {...unknown} children */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** @param {unknown} v */
export const json = (v) => JSON.stringify(v, null, 2) ?? "undefined";

/** "1.2 s", "340 ms" @param {number} ms */
export function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** @param {number} epochMs */
export const time = (epochMs) => new Date(epochMs).toLocaleTimeString();

/** A status as a coloured badge. @param {string} status */
export const badge = (status) => h("span", { class: `badge s-${status.replace(/[^a-z_]/g, "")}` }, status);

/** A link to an agent's page. @param {string} id "type/key" */
export const agentLink = (id) => h("a", { href: `#/agents/${id}`, class: "agent-link" }, id);
