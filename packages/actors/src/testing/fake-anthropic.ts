import { createServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { FakeCacheUsage, FakePromptCacheOptions } from "./fake-prompt-cache.ts";
import { FakePromptCache, cacheControlProblem, estimateFakeTokens } from "./fake-prompt-cache.ts";

/** The key a fake accepts unless told otherwise. */
export const FAKE_ANTHROPIC_API_KEY = "sk-ant-fake-test-key";

/** A content block the fake sends. Deltas are split for you unless `chunks` says how. */
export type FakeBlock =
  | { type: "text"; text: string; /** text_delta pieces (must join to `text`); default: one per word */ chunks?: string[] }
  | {
      type: "tool_use";
      id?: string;
      name: string;
      input?: unknown;
      /** The input's JSON text as sent (may be malformed); default JSON.stringify(input ?? {}). */
      json?: string;
      /** input_json_delta pieces (must join to the JSON); default: "" then 7-character pieces. */
      chunks?: string[];
    };

export interface FakeUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** A complete message, streamed (SSE) or as JSON, whichever the request asked for. */
export interface FakeReply {
  kind: "reply";
  content: FakeBlock[];
  /** Default "tool_use" when a tool_use block is present, else "end_turn". */
  stopReason?: string;
  usage?: FakeUsage;
  /** Default: the model the request named. */
  model?: string;
}

/** An HTTP error in the API's shape `{type: "error", error: {type, message}}`. */
export interface FakeHttpError {
  kind: "http_error";
  status: number;
  /** Default from the status (429 → rate_limit_error, 529 → overloaded_error, ...). */
  errorType?: string;
  message?: string;
  /** e.g. retry-after, retry-after-ms, x-should-retry. */
  headers?: Record<string, string>;
}

/** A 200 stream that starts a text block, then sends `event: error` (non-streaming requests get the matching HTTP error). */
export interface FakeStreamError {
  kind: "stream_error";
  /** Text streamed before the error. Default "Partial". */
  text?: string;
  /** Default overloaded_error. */
  errorType?: string;
  message?: string;
}

/** A 200 stream cut off (socket destroyed) after some text; non-streaming: the socket is destroyed unanswered. */
export interface FakeDisconnect {
  kind: "disconnect";
  text?: string;
}

/** A 200 stream that sends some text and then nothing, until the client goes away or the fake closes. */
export interface FakeStall {
  kind: "stall";
  text?: string;
}

/** Waits `ms` (a real timer, cleared on close), then plays `then`. */
export interface FakeDelay {
  kind: "delay";
  ms: number;
  then: FakeStep;
}

/** Decides per request; may be async (e.g. awaiting a gate the test opens). */
export type FakeResponder = (request: FakeRequest) => FakeStep | Promise<FakeStep>;
export type FakeStep = FakeReply | FakeHttpError | FakeStreamError | FakeDisconnect | FakeStall | FakeDelay | FakeResponder;

/** The JSON body of a Messages API request, as received. */
export interface FakeRequestBody {
  model?: string;
  max_tokens?: number;
  stream?: boolean;
  system?: unknown;
  messages?: Array<{ role: string; content: unknown }>;
  tools?: Array<{ name: string; description?: string; input_schema?: unknown }>;
  [key: string]: unknown;
}

export interface FakeRequest {
  /** 0-based arrival order. */
  index: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** How the key came (whether or not it was right). */
  auth: "x-api-key" | "bearer" | "none";
  body: FakeRequestBody;
  /** performance.now() when the request arrived. */
  receivedAt: number;
}

export interface FakeAnthropicOptions {
  /** The only key accepted (as `x-api-key` or `Authorization: Bearer`). Default FAKE_ANTHROPIC_API_KEY. */
  apiKey?: string;
  /**
   * Model the prompt cache (see fake-prompt-cache.ts): replies without an
   * explicit `usage` report input estimated from the request (characters / 4)
   * and split into `input_tokens`, `cache_read_input_tokens` and
   * `cache_creation_input_tokens` by the request's `cache_control` markers,
   * and output estimated from the reply. Off by default: replies then report
   * 10 input and 5 output tokens unless their step says otherwise.
   */
  promptCaching?: boolean | FakePromptCacheOptions;
}

/** A fake Anthropic Messages API on 127.0.0.1, scripted per test. */
export interface FakeAnthropic extends AsyncDisposable {
  /** Base URL for the SDK (`new Anthropic({baseURL})`). */
  readonly url: string;
  readonly apiKey: string;
  /** Every request received, in order, rejected ones included. */
  readonly requests: readonly FakeRequest[];
  /** Requests being answered now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Steps not yet used. */
  readonly queued: number;
  /** The modelled prompt cache, when `promptCaching` is on. */
  readonly promptCache: FakePromptCache | undefined;
  /** Queues steps: each request that passes auth and validation takes the next one. */
  enqueue(...steps: FakeStep[]): this;
  /** What to do when the queue is empty (default: a 400 saying no step was queued). */
  respond(step: FakeStep): this;
  close(): Promise<void>;
}

/**
 * The system prompt of a request as one string, whether it came as a string
 * or as text blocks (as it does with cache breakpoints); undefined if none.
 */
export function systemText(body: FakeRequestBody): string | undefined {
  if (typeof body.system === "string") return body.system;
  if (!Array.isArray(body.system)) return undefined;
  return body.system.map((b: unknown) => (typeof b === "object" && b !== null && "text" in b ? String((b as { text: unknown }).text) : "")).join("");
}

/** Builders for the common steps. */
export const fakeSteps = {
  text: (text: string, opts: Omit<FakeReply, "kind" | "content"> = {}): FakeReply => ({ kind: "reply", content: [{ type: "text", text }], ...opts }),
  reply: (content: FakeBlock[], opts: Omit<FakeReply, "kind" | "content"> = {}): FakeReply => ({ kind: "reply", content, ...opts }),
  toolUse: (name: string, input: unknown, opts: Omit<FakeReply, "kind" | "content"> & { id?: string } = {}): FakeReply => {
    const { id, ...rest } = opts;
    return { kind: "reply", content: [{ type: "tool_use", name, input, ...(id ? { id } : {}) }], ...rest };
  },
  httpError: (status: number, opts: Omit<FakeHttpError, "kind" | "status"> = {}): FakeHttpError => ({ kind: "http_error", status, ...opts }),
  streamError: (opts: Omit<FakeStreamError, "kind"> = {}): FakeStreamError => ({ kind: "stream_error", ...opts }),
  disconnect: (text?: string): FakeDisconnect => ({ kind: "disconnect", ...(text === undefined ? {} : { text }) }),
  stall: (text?: string): FakeStall => ({ kind: "stall", ...(text === undefined ? {} : { text }) }),
  delay: (ms: number, then: FakeStep): FakeDelay => ({ kind: "delay", ms, then }),
};

const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  408: "timeout_error",
  409: "conflict_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};
const STATUS_BY_ERROR_TYPE: Record<string, number> = { overloaded_error: 529, rate_limit_error: 429, api_error: 500, timeout_error: 504 };

/** Starts a fake on a free port of 127.0.0.1. */
export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const apiKey = options.apiKey ?? FAKE_ANTHROPIC_API_KEY;
  const promptCache = options.promptCaching ? new FakePromptCache(options.promptCaching === true ? {} : options.promptCaching) : undefined;
  const requests: FakeRequest[] = [];
  const queue: FakeStep[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const open = new Set<ServerResponse>();
  let fallback: FakeStep = (req) => fakeSteps.httpError(400, { message: `fake-anthropic: no step queued for request #${req.index}` });
  let inFlight = 0;
  let maxInFlight = 0;
  let ids = 0;
  let closed = false;

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const sendError = (res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}) => {
    if (res.destroyed || res.headersSent) return;
    const body = JSON.stringify({ type: "error", error: { type, message }, request_id: `req_fake_${++ids}` });
    res.writeHead(status, { "content-type": "application/json", "request-id": `req_fake_${ids}`, ...headers }).end(body);
  };

  async function play(step: FakeStep, req: FakeRequest, res: ServerResponse): Promise<void> {
    while (typeof step === "function") step = await step(req);
    if (closed || res.destroyed) return;
    const streaming = req.body.stream === true;
    const model = req.body.model ?? "claude-fake";
    switch (step.kind) {
      case "delay":
        await wait(step.ms);
        return play(step.then, req, res);
      case "http_error":
        return sendError(res, step.status, step.errorType ?? ERROR_TYPE_BY_STATUS[step.status] ?? "api_error", step.message ?? `fake ${step.status}`, step.headers);
      case "reply": {
        const usage = fullUsage(step.usage, promptCache ? { ...promptCache.account(req.body), output_tokens: outputTokens(step) } : undefined);
        return streaming ? streamReply(res, step, model, usage) : jsonReply(res, step, model, usage);
      }
      case "stream_error": {
        const type = step.errorType ?? "overloaded_error";
        const message = step.message ?? (type === "overloaded_error" ? "Overloaded" : `fake ${type}`);
        if (!streaming) return sendError(res, STATUS_BY_ERROR_TYPE[type] ?? 500, type, message);
        startStream(res, model, step.text ?? "Partial");
        sse(res, "error", { type: "error", error: { type, message } });
        res.end();
        return;
      }
      case "disconnect":
        if (streaming) await new Promise<void>((resolve) => startStream(res, model, step.text ?? "Partial", resolve));
        res.socket?.destroy();
        return;
      case "stall":
        if (streaming) startStream(res, model, step.text ?? "Partial");
        await new Promise<void>((resolve) => res.once("close", resolve));
        return;
    }
  }

  /** message_start, then a text block's start and deltas: the opening of a stream that will not finish normally. */
  function startStream(res: ServerResponse, model: string, text: string, flushed?: () => void) {
    writeSseHead(res);
    sse(res, "message_start", { type: "message_start", message: messageShell(model, { input_tokens: 10 }) });
    sse(res, "content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    for (const piece of words(text)) sse(res, "content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } });
    sse(res, "ping", { type: "ping" }, flushed);
  }

  function streamReply(res: ServerResponse, step: FakeReply, model: string, usage: Required<FakeUsage>) {
    writeSseHead(res);
    sse(res, "message_start", { type: "message_start", message: messageShell(step.model ?? model, { ...usage, output_tokens: 1 }) });
    sse(res, "ping", { type: "ping" });
    step.content.forEach((block, index) => {
      if (block.type === "text") {
        sse(res, "content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } });
        for (const text of block.chunks ?? words(block.text)) sse(res, "content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text } });
      } else {
        const json = block.json ?? JSON.stringify(block.input ?? {});
        sse(res, "content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: block.id ?? `toolu_fake_${++ids}`, name: block.name, input: {} } });
        for (const partial_json of block.chunks ?? ["", ...pieces(json, 7)]) {
          sse(res, "content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } });
        }
      }
      sse(res, "content_block_stop", { type: "content_block_stop", index });
    });
    sse(res, "message_delta", { type: "message_delta", delta: { stop_reason: stopReasonOf(step), stop_sequence: null }, usage });
    sse(res, "message_stop", { type: "message_stop" });
    res.end();
  }

  function jsonReply(res: ServerResponse, step: FakeReply, model: string, usage: Required<FakeUsage>) {
    const content = step.content.map((b) =>
      b.type === "text"
        ? { type: "text", text: b.text }
        : { type: "tool_use", id: b.id ?? `toolu_fake_${++ids}`, name: b.name, input: b.json === undefined ? (b.input ?? {}) : parseOr(b.json) },
    );
    const message = { ...messageShell(step.model ?? model, usage), content, stop_reason: stopReasonOf(step) };
    res.writeHead(200, { "content-type": "application/json", "request-id": `req_fake_${++ids}` }).end(JSON.stringify(message));
  }

  const messageShell = (model: string, usage: FakeUsage) => ({
    id: `msg_fake_${++ids}`,
    type: "message",
    role: "assistant",
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage,
  });

  const writeSseHead = (res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": `req_fake_${++ids}` });
    res.flushHeaders();
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: FakeRequestBody | undefined;
    try {
      const parsed: unknown = raw ? JSON.parse(raw) : undefined;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed as FakeRequestBody;
    } catch {
      body = undefined;
    }
    const xApiKey = req.headers["x-api-key"];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const record: FakeRequest = {
      index: requests.length,
      method: req.method ?? "GET",
      path: (req.url ?? "/").split("?")[0]!,
      headers: req.headers,
      auth: xApiKey !== undefined ? "x-api-key" : bearer !== undefined ? "bearer" : "none",
      body: body ?? {},
      receivedAt: performance.now(),
    };
    requests.push(record);
    if (record.method !== "POST" || record.path !== "/v1/messages") return sendError(res, 404, "not_found_error", `fake-anthropic: no route ${record.method} ${record.path}`);
    if (xApiKey !== apiKey && bearer !== apiKey) return sendError(res, 401, "authentication_error", "invalid x-api-key");
    const invalid = !body
      ? "the body must be a JSON object"
      : typeof body.model !== "string"
        ? "model: Field required"
        : typeof body.max_tokens !== "number"
          ? "max_tokens: Field required"
          : !Array.isArray(body.messages) || body.messages.length === 0
            ? "messages: at least one message is required"
            : cacheControlProblem(body);
    if (invalid) return sendError(res, 400, "invalid_request_error", invalid);

    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let counted = true;
    open.add(res);
    const done = () => {
      if (counted) inFlight--;
      counted = false;
      open.delete(res);
    };
    res.once("close", done);
    // Counted out just before the last byte is written, so a client's next
    // request can never find this one still counted.
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<typeof end>) => {
      done();
      return end(...args);
    }) as typeof res.end;
    await play(queue.shift() ?? fallback, record, res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // A bug in a test's responder: say so, and do not let the SDK retry into the next step.
      if (!res.headersSent) sendError(res, 500, "api_error", `fake-anthropic failed: ${e instanceof Error ? e.message : String(e)}`, { "x-should-retry": "false" });
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const close = async () => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const answered = [...open].map((res) => new Promise<void>((resolve) => (res.closed ? resolve() : res.once("close", () => resolve()))));
    for (const socket of sockets) socket.destroy();
    await Promise.all([stopped, ...answered]);
  };

  const fake: FakeAnthropic = {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get queued() {
      return queue.length;
    },
    promptCache,
    enqueue(...steps) {
      queue.push(...steps);
      return fake;
    },
    respond(step) {
      fallback = step;
      return fake;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return fake;
}

/** Writes one server-sent event; `flushed` runs once it has been handed to the socket. */
function sse(res: ServerResponse, event: string, data: unknown, flushed?: () => void) {
  if (res.destroyed) return flushed?.();
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, () => flushed?.());
}

/** The step's usage, each missing field from the modelled one (prompt caching on) or the defaults. */
const fullUsage = (u: FakeUsage = {}, modelled?: FakeCacheUsage & { output_tokens: number }): Required<FakeUsage> => ({
  input_tokens: u.input_tokens ?? modelled?.input_tokens ?? 10,
  output_tokens: u.output_tokens ?? modelled?.output_tokens ?? 5,
  cache_read_input_tokens: u.cache_read_input_tokens ?? modelled?.cache_read_input_tokens ?? 0,
  cache_creation_input_tokens: u.cache_creation_input_tokens ?? modelled?.cache_creation_input_tokens ?? 0,
});

/** A reply's output tokens, estimated like the input: characters / 4 (at least 1). */
const outputTokens = (step: FakeReply): number =>
  Math.max(1, step.content.reduce((n, b) => n + estimateFakeTokens(b.type === "text" ? b.text : (b.json ?? JSON.stringify(b.input ?? {}))), 0));

const stopReasonOf = (step: FakeReply) => step.stopReason ?? (step.content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");

/** "Hello big world" → ["Hello ", "big ", "world"]. */
const words = (text: string): string[] => text.match(/^\s+|\S+\s*/g) ?? [];

const pieces = (text: string, size: number): string[] => {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
};

const parseOr = (json: string): unknown => {
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
};
