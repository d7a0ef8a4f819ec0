// Cluster: GET /v1/hosts (membership) and GET /v1/cluster/stats (every host's totals) for live rates and charts.
import { api, errorText } from "./api.js";
import { badge, duration, fill, h, time } from "./dom.js";
import { every } from "./poll.js";

/**
 * @typedef {{host: string, at: number, turns: {completed: number, failed: number}, turnSeconds: [string, number][], tokens: number, costUsd: number, failovers: number, activeAgents: number}} HostStats
 * @typedef {{at: number, turns: number, failed: number, tokens: number, cost: number, failovers: number, buckets: Map<string, number>}} Interval
 */

/** Seconds at which a cumulative histogram reaches quantile `q`, by its bucket bounds. @param {[string, number][]} buckets @param {number} q */
export function quantile(buckets, q) {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  for (const [le, n] of buckets) if (n >= q * total) return le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
  return null;
}

/**
 * What the cluster did between two reads of GET /v1/cluster/stats, host by
 * host (a host seen for the first time, or whose counters went back to zero
 * after a restart, counts from zero).
 * @param {Map<string, HostStats>} before @param {HostStats[]} now @param {number} at
 * @returns {Interval}
 */
export function interval(before, now, at) {
  /** @type {Interval} */
  const d = { at, turns: 0, failed: 0, tokens: 0, cost: 0, failovers: 0, buckets: new Map() };
  for (const s of now) {
    const p = before.get(s.host);
    const reset = !p || s.turns.completed < p.turns.completed;
    const base = (/** @type {(x: HostStats) => number} */ f) => (reset || !p ? 0 : f(p));
    d.turns += s.turns.completed - base((x) => x.turns.completed);
    d.failed += s.turns.failed - base((x) => x.turns.failed);
    d.tokens += s.tokens - base((x) => x.tokens);
    d.cost += s.costUsd - base((x) => x.costUsd);
    d.failovers += s.failovers - base((x) => x.failovers);
    const prior = new Map(reset || !p ? [] : p.turnSeconds);
    for (const [le, n] of s.turnSeconds) d.buckets.set(le, (d.buckets.get(le) ?? 0) + n - (prior.get(le) ?? 0));
  }
  return d;
}

/** A small line chart of `values` (oldest first), drawn as SVG elements (no markup parsed). @param {number[]} values */
function sparkline(values) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 100 24");
  svg.setAttribute("class", "spark");
  const max = Math.max(1, ...values);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", values.map((v, i) => `${((i / Math.max(1, values.length - 1)) * 100).toFixed(1)},${(23 - (v / max) * 22).toFixed(1)}`).join(" "));
  svg.appendChild(line);
  return svg;
}

/** @param {HTMLElement} main */
export function renderCluster(main) {
  const status = h("p", { class: "muted" }, "Loading…");
  const rates = h("div", { id: "rates", class: "cards" });
  const body = h("tbody");
  fill(
    main,
    h("h1", null, "Cluster"),
    rates,
    h("table", { id: "hosts" }, h("thead", null, h("tr", null, ["Host", "Address", "Status", "Agents", "Load", "Last heartbeat", "Started"].map((c) => h("th", null, c)))), body),
    status,
  );
  /** @typedef {{at: number, messages: number, tokens: number, cost: number}} Sample */
  /** @type {Sample[]} */
  const samples = [];
  const stopHosts = every(2000, async () => {
    try {
      const { version, hosts } = await api("GET", "/v1/hosts");
      const now = Date.now();
      fill(
        body,
        hosts.map((/** @type {any} */ host) =>
          h(
            "tr",
            { class: "host", "data-status": host.status },
            h("td", null, host.id),
            h("td", null, host.address),
            h("td", null, badge(host.status)),
            h("td", { class: "num" }, host.agents),
            h("td", { class: "num" }, host.load),
            h("td", null, `${duration(Math.max(0, now - host.lastHeartbeat))} ago`),
            h("td", null, time(host.startedAt)),
          ),
        ),
      );
      fill(status, `${hosts.length} host${hosts.length === 1 ? "" : "s"}, membership version ${version}, refreshed ${time(now)}`);
      status.className = "muted";
    } catch (e) {
      fill(status, errorText(e));
      status.className = "error";
    }
  });
  // The whole cluster's rates over the last minute, from every host's own counters (GET /v1/cluster/stats; no Prometheus needed).
  /** @type {Map<string, HostStats>} */
  let last = new Map();
  /** @type {Interval[]} */
  const window = [];
  const stopRates = every(3000, async () => {
    try {
      const { hosts } = await api("GET", "/v1/cluster/stats");
      const at = Date.now();
      const stats = /** @type {HostStats[]} */ (hosts.flatMap((/** @type {any} */ r) => (r.stats ? [r.stats] : [])));
      if (last.size > 0) window.push(interval(last, stats, at));
      last = new Map(stats.map((x) => [x.host, x]));
      while (window.length > 1 && at - (window[0]?.at ?? at) > 60_000) window.shift();
      if (window.length === 0) {
        fill(rates, h("div", { class: "card muted" }, "measuring…"));
        return;
      }
      const minutes = Math.max(window.length * 3, 3) / 60;
      const total = (/** @type {"turns"|"failed"|"tokens"|"cost"|"failovers"} */ k) => window.reduce((n, x) => n + x[k], 0);
      /** @type {Map<string, number>} */
      const merged = new Map();
      for (const x of window) for (const [le, n] of x.buckets) merged.set(le, (merged.get(le) ?? 0) + n);
      const buckets = /** @type {[string, number][]} */ ([...merged]);
      const ms = (/** @type {number | null} */ sec) => (sec === null ? "–" : sec === Number.POSITIVE_INFINITY ? "> 120 s" : `≤ ${duration(sec * 1000)}`);
      const card = (/** @type {string} */ id, /** @type {string} */ value, /** @type {string} */ label, /** @type {number[]} */ series) =>
        h("div", { class: "card", id }, h("b", null, value), ` ${label}`, sparkline(series));
      fill(
        rates,
        card("rate-turns", (total("turns") / minutes).toFixed(0), "turns/min", window.map((x) => x.turns)),
        card("rate-failed", (total("failed") / minutes).toFixed(0), "failed/min", window.map((x) => x.failed)),
        card("rate-latency", `p50 ${ms(quantile(buckets, 0.5))}, p99 ${ms(quantile(buckets, 0.99))}`, "turn latency", []),
        card("rate-tokens", (total("tokens") / minutes).toFixed(0), "tokens/min", window.map((x) => x.tokens)),
        card("rate-cost", (total("cost") / minutes).toFixed(4), "USD/min", window.map((x) => x.cost)),
        card("rate-failovers", String(total("failovers")), "failovers (last minute)", window.map((x) => x.failovers)),
        h("div", { class: "card muted" }, `all ${stats.length} host${stats.length === 1 ? "" : "s"}, last minute`),
      );
    } catch (e) {
      fill(rates, h("div", { class: "card error" }, errorText(e)));
    }
  });
  return () => {
    stopHosts();
    stopRates();
  };
}
