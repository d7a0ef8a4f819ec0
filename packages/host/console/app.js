// The console's shell: hash routes to pages. A page is a function that
// fills <main> and returns how to stop it (its timers and streams).
import { api, errorText } from "./api.js";
import { fill, h } from "./dom.js";
import { renderCluster } from "./cluster.js";
import { renderAgents } from "./agents.js";
import { renderAgent } from "./agent.js";
import { renderApprovals } from "./approvals.js";

/** @typedef {() => void} Stop */

/** `<type>/<key>`, as the API accepts them. */
const AGENT_ID = /^[a-z][a-z0-9-]{0,62}\/[A-Za-z0-9_-]{1,128}$/;

/** @type {Stop | null} */
let stopPage = null;

function route() {
  stopPage?.();
  stopPage = null;
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  const path = decodeURIComponent(location.hash.replace(/^#\/?/, "")) || "cluster";
  const parts = path.split("/");
  let page = parts[0];
  fill(main);
  if (parts[0] === "agents" && parts.length >= 3) {
    page = "agents";
    const id = `${parts[1]}/${parts.slice(2).join("/")}`;
    // Only a well-formed id reaches the API's paths (no "..", no "?").
    if (AGENT_ID.test(id)) stopPage = renderAgent(main, id);
    else fill(main, h("p", { class: "error" }, `Not an agent id: ${id}`));
  } else if (parts[0] === "agents") stopPage = renderAgents(main);
  else if (parts[0] === "approvals") stopPage = renderApprovals(main);
  else if (parts[0] === "cluster") stopPage = renderCluster(main);
  else fill(main, h("p", { class: "error" }, `No page ${path}.`), h("a", { href: "#/cluster" }, "Back to the cluster"));
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("data-page") === page);
}

/** The approvals badge in the header, whatever page is open. */
async function countApprovals() {
  const el = document.getElementById("approvals-count");
  if (!el) return;
  try {
    const { approvals } = await api("GET", "/v1/approvals");
    el.textContent = approvals.length ? String(approvals.length) : "";
    el.className = approvals.length ? "count" : "";
  } catch (e) {
    el.textContent = "";
    el.title = errorText(e);
  }
}

window.addEventListener("hashchange", () => {
  route();
  countApprovals();
});
route();
countApprovals();
setInterval(countApprovals, 3000);
api("GET", "/healthz")
  .then((r) => {
    const el = document.getElementById("served-by");
    if (el) el.textContent = `served by ${r.host}`;
  })
  .catch(() => {});
