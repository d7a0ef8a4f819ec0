// Cluster: GET /v1/hosts (membership) and this host's own /metrics for a few live rates.
import { api, authorizedFetch, errorText } from "./api.js";
import { badge, duration, fill, h, time } from "./dom.js";
import { every } from "./poll.js";

/**
 * Sums the samples of one Prometheus counter, optionally only those whose labels contain `match`.
 * @param {string} text @param {string} name @param {string} [match]
 */
export function counter(text, name, match = "") {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (match && !line.includes(match)) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
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
  // Rates over the last minute from the host that serves this page (its own counters, no Prometheus needed).
  const stopRates = every(3000, async () => {
    try {
      const res = await authorizedFetch("/metrics");
      const text = await res.text();
      const at = Date.now();
      samples.push({
        at,
        messages: counter(text, "colony_messages_total", 'outcome="completed"'),
        tokens: counter(text, "colony_llm_tokens_total"),
        cost: counter(text, "colony_llm_cost_usd_total"),
      });
      while (samples.length > 2 && at - (samples[0]?.at ?? at) > 60_000) samples.shift();
      const first = /** @type {Sample} */ (samples[0]);
      const last = /** @type {Sample} */ (samples[samples.length - 1]);
      const minutes = Math.max((last.at - first.at) / 60_000, 1 / 60);
      const rate = (/** @type {"messages"|"tokens"|"cost"} */ k) => (samples.length < 2 ? "…" : ((last[k] - first[k]) / minutes).toFixed(k === "cost" ? 4 : 0));
      fill(
        rates,
        h("div", { class: "card" }, h("b", null, rate("messages")), " turns/min"),
        h("div", { class: "card" }, h("b", null, rate("tokens")), " tokens/min"),
        h("div", { class: "card" }, h("b", null, rate("cost")), " USD/min"),
        h("div", { class: "card muted" }, "on this host, last minute"),
      );
    } catch {
      fill(rates);
    }
  });
  return () => {
    stopHosts();
    stopRates();
  };
}
