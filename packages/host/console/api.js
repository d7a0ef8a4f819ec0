// Every datum the console shows comes from the admin API (/v1), through
// here. The admin token, when the host has one, is asked for once and kept
// in sessionStorage: this tab only, never a cookie or a URL.

const TOKEN_KEY = "colony.adminToken";

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @type {Promise<void> | null} one prompt at a time, whatever the number of calls that got a 401 */
let prompting = null;

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** @param {HeadersInit} [extra] */
function headers(extra) {
  const out = new Headers(extra);
  const t = token();
  if (t) out.set("Authorization", `Bearer ${t}`);
  return out;
}

/**
 * Shows the token dialog and resolves once a token was entered.
 * @param {string | null} error shown above the field (a refused token)
 */
function askForToken(error) {
  prompting ??= new Promise((resolve) => {
    const dialog = /** @type {HTMLDialogElement} */ (document.getElementById("token-dialog"));
    const form = /** @type {HTMLFormElement} */ (document.getElementById("token-form"));
    const input = /** @type {HTMLInputElement} */ (document.getElementById("token-input"));
    const err = /** @type {HTMLElement} */ (document.getElementById("token-error"));
    err.textContent = error ?? "";
    err.hidden = error === null;
    input.value = "";
    const done = (/** @type {Event} */ e) => {
      e.preventDefault();
      if (!input.value) return;
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      form.removeEventListener("submit", done);
      dialog.close();
      prompting = null;
      resolve(undefined);
    };
    form.addEventListener("submit", done);
    // Escape must not leave the console without a token and without a prompt.
    dialog.oncancel = (e) => e.preventDefault();
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  return prompting;
}

/**
 * A fetch to this host that asks for the token on a 401 and tries again.
 * @param {string} path @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
export async function authorizedFetch(path, init = {}) {
  for (;;) {
    if (prompting) await prompting;
    const sent = token();
    const res = await fetch(path, { ...init, headers: headers(init.headers) });
    if (res.status !== 401) return res;
    await res.body?.cancel();
    // Another call may have stored a new token meanwhile: then just try again with it.
    if (token() !== sent) continue;
    if (sent !== null) sessionStorage.removeItem(TOKEN_KEY);
    await askForToken(sent !== null ? "That token was refused (401). Enter the host's COLONY_ADMIN_TOKEN." : null);
  }
}

/**
 * A JSON call to the admin API; a non-2xx answer throws an ApiError with the API's error code and message.
 * @param {string} method @param {string} path @param {unknown} [body]
 */
export async function api(method, path, body) {
  /** @type {RequestInit} */
  const init = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  const res = await authorizedFetch(path, init);
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? "http_error", data?.error?.message ?? `${method} ${path}: HTTP ${res.status}`);
  return data;
}

/**
 * Reads a server-sent event stream with fetch (EventSource cannot send an
 * Authorization header). Resolves when the stream ends or `signal` aborts.
 * @param {string} path
 * @param {(event: string, data: any) => void} onEvent
 * @param {AbortSignal} signal
 */
export async function stream(path, onEvent, signal) {
  const res = await authorizedFetch(path, { signal, headers: { Accept: "text/event-stream" } });
  if (!res.ok || !res.body) throw new ApiError(res.status, "stream_failed", `${path}: HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let end;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length === 0) continue; // a heartbeat comment
        let parsed;
        try {
          parsed = JSON.parse(data.join("\n"));
        } catch {
          continue;
        }
        onEvent(event, parsed);
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}

/** @param {unknown} e */
export const errorText = (e) => (e instanceof ApiError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e));
