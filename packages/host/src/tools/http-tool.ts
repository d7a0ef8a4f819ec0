import { z } from "zod";
import type { ToolContext, ToolDefinition, ToolOutput } from "@colony/actors";
import { sleep as wait } from "@colony/actors";
import type { HttpToolDeclaration } from "./http-tool-declaration.ts";
import { PLACEHOLDER } from "./http-tool-declaration.ts";
import type { SecretResolver } from "./secrets.ts";
import { redactSecrets, secretHint } from "./secrets.ts";

/** Pause before retry n (1-based): 100 ms, 200 ms, 400 ms … at most 2 s. */
export const retryBackoffMs = (n: number): number => Math.min(2_000, 100 * 2 ** (n - 1));

export interface HttpToolOptions {
  secrets: SecretResolver;
  /** Node's global fetch (undici) unless a test passes another. */
  fetch?: typeof fetch;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A secret a template names but the host does not have: a tool error naming it, the service is not called. */
class MissingSecretError extends Error {
  constructor(readonly secret: string) {
    super(`secret ${secret} is not available on this host: ${secretHint(secret)}`);
  }
}

/** The request a call makes, built once: every attempt sends exactly this. */
interface BuiltRequest {
  url: string;
  /** The URL as the trace shows it: secrets as their references. */
  shownUrl: string;
  init: { method: string; headers: Headers; body?: string };
  /** Resolved secret values: masked in anything the call reports. */
  secretValues: Set<string>;
}

/**
 * Turns a declaration into a tool: arguments validated by the zod schema
 * z.fromJSONSchema makes of its inputSchema, then one HTTP request (retried
 * on 5xx, connection errors and timeouts) carrying `Idempotency-Key` =
 * the call's (agent, message, tool-use id), the same on every attempt and
 * on a turn resumed after a crash.
 */
export function httpTool(decl: HttpToolDeclaration, o: HttpToolOptions): ToolDefinition<Record<string, unknown>> {
  const h = decl.http;
  const backoffTotal = Array.from({ length: h.retries }, (_, i) => retryBackoffMs(i + 1)).reduce((a, b) => a + b, 0);
  return {
    name: decl.name,
    description: decl.description,
    input: z.fromJSONSchema(decl.inputSchema as Parameters<typeof z.fromJSONSchema>[0]) as z.ZodType<Record<string, unknown>>,
    inputSchema: decl.inputSchema,
    permission: decl.permission,
    // Every attempt may use its whole timeout; the registry's own deadline comes after them all.
    timeoutMs: h.timeoutMs * (h.retries + 1) + backoffTotal + 1_000,
    ...(decl.rateLimit ? { rateLimit: decl.rateLimit } : {}),
    run: (args, ctx) => runHttpCall(decl, args, ctx, o),
  };
}

async function runHttpCall(decl: HttpToolDeclaration, args: Record<string, unknown>, ctx: ToolContext, o: HttpToolOptions): Promise<ToolOutput> {
  let req: BuiltRequest;
  const resolved = new Set<string>();
  try {
    req = buildRequest(decl, args, o.secrets, resolved);
  } catch (e) {
    // A header value the platform refuses is quoted in its error: it may be a secret.
    const message = e instanceof MissingSecretError ? e.message : `could not build the request: ${redactSecrets(e instanceof Error ? e.message : String(e), resolved)}`;
    return { isError: true, content: `${decl.name}: ${message}`, details: { idempotencyKey: ctx.idempotencyKey, attempts: 0 } };
  }
  req.init.headers.set("Idempotency-Key", ctx.idempotencyKey);
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? pauseUnlessAborted;
  const h = decl.http;
  const redact = (text: string) => redactSecrets(text, req.secretValues);
  const details = (attempts: number, status?: number) => ({
    method: h.method,
    url: redact(req.shownUrl),
    idempotencyKey: ctx.idempotencyKey,
    attempts,
    ...(status !== undefined ? { status } : {}),
  });
  let failure = "";
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= h.retries + 1; attempt++) {
    if (attempt > 1) await sleep(retryBackoffMs(attempt - 1), ctx.signal);
    if (ctx.signal.aborted) return { isError: true, content: `${decl.name}: cancelled`, details: details(attempt - 1, lastStatus) };
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(h.timeoutMs)]);
    try {
      const res = await doFetch(req.url, { ...req.init, signal, redirect: "manual" });
      const text = redact(await readBounded(res, h.maxResponseChars));
      lastStatus = res.status;
      if (res.status >= 500) {
        failure = `HTTP ${res.status}${text ? `: ${text}` : ""}`;
        continue;
      }
      if (res.status >= 200 && res.status < 300) return { content: text, details: details(attempt, res.status) };
      return { isError: true, content: `HTTP ${res.status}${text ? `: ${text}` : ""}`, details: details(attempt, res.status) };
    } catch (e) {
      if (ctx.signal.aborted) return { isError: true, content: `${decl.name}: cancelled`, details: details(attempt, lastStatus) };
      lastStatus = undefined;
      failure = signal.aborted ? `no answer within ${h.timeoutMs} ms` : `could not reach the service: ${redact(causeOf(e))}`;
    }
  }
  const tries = h.retries + 1;
  return { isError: true, content: `${decl.name} failed after ${tries} attempt${tries === 1 ? "" : "s"}: ${failure}`, details: details(tries, lastStatus) };
}

/** Fills the declaration's templates from the arguments and the host's secrets. */
export function buildRequest(decl: HttpToolDeclaration, args: Record<string, unknown>, secrets: SecretResolver, secretValues = new Set<string>()): BuiltRequest {
  const h = decl.http;
  const secret = (name: string) => {
    const v = secrets(name);
    if (v === undefined || v === "") throw new MissingSecretError(name);
    secretValues.add(v);
    return v;
  };
  const url = new URL(fill(h.url, args, secret, urlPart));
  const shownUrl = new URL(fill(h.url, args, (n) => `{{secret:${n}}}`, urlPart));
  for (const [k, tmpl] of Object.entries(h.query ?? {})) {
    const named = [...tmpl.matchAll(PLACEHOLDER)].filter((m) => m[2] !== undefined).map((m) => m[2]!);
    if (named.length > 0 && named.every((a) => args[a] === undefined)) continue;
    url.searchParams.append(k, fill(tmpl, args, secret, plain));
    shownUrl.searchParams.append(k, fill(tmpl, args, (n) => `{{secret:${n}}}`, plain));
  }
  const headers = new Headers();
  for (const [k, tmpl] of Object.entries(h.headers ?? {})) headers.set(k, fill(tmpl, args, secret, plain));
  const mode = h.body ?? (h.method === "GET" || h.method === "DELETE" ? "none" : "arguments");
  const init: BuiltRequest["init"] = { method: h.method, headers };
  if (mode !== "none") {
    init.body = JSON.stringify(mode === "arguments" ? args : fillJson(mode.template, args, secret));
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  if (!headers.has("accept")) headers.set("accept", "application/json, text/plain;q=0.9, */*;q=0.5");
  return { url: url.toString(), shownUrl: shownUrl.toString(), init, secretValues };
}

const plain = (v: unknown): string => (typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v));
const urlPart = (v: unknown): string => encodeURIComponent(plain(v));

/** One pass: what is put in is never scanned again (an argument cannot name a secret). */
function fill(template: string, args: Record<string, unknown>, secret: (name: string) => string, encode: (v: unknown) => string): string {
  return template.replace(PLACEHOLDER, (_m, s: string | undefined, a: string | undefined) => (s !== undefined ? secret(s) : encode(args[a!])));
}

/** A body template: `"{arg}"` alone becomes the argument's JSON value (left out if absent); other strings are filled as text. */
function fillJson(t: unknown, args: Record<string, unknown>, secret: (name: string) => string): unknown {
  if (typeof t === "string") {
    const whole = /^\{([A-Za-z0-9_]+)\}$/.exec(t);
    if (whole) return args[whole[1]!];
    return fill(t, args, secret, plain);
  }
  if (Array.isArray(t)) return t.map((x) => fillJson(x, args, secret));
  if (t && typeof t === "object") return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, fillJson(v, args, secret)]).filter(([, v]) => v !== undefined));
  return t;
}

/** The response's text, at most `max` characters (the rest is not read). */
async function readBounded(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (text.length > max) {
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  if (!truncated) text += decoder.decode();
  return text.length > max ? `${text.slice(0, max)}… (truncated at ${max} characters)` : text;
}

/** undici says "fetch failed" and puts the reason (ECONNREFUSED, a reset) in `cause`. */
function causeOf(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return cause ? `${err.message ?? "fetch failed"} (${cause})` : (err?.message ?? String(e));
}


/** A back-off that an abort cuts short (the call's own signal then ends the call). */
function pauseUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return wait(ms, { signal }).catch(() => undefined);
}
