import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { FakePromptCacheOptions } from "./fake-prompt-cache.ts";
import { FakePromptCache } from "./fake-prompt-cache.ts";
import type { FakeRequest } from "./fake-request.ts";
import { invalidBody, readBody } from "./fake-request.ts";
import type { FakeStep } from "./fake-steps.ts";
import { fakeSteps } from "./fake-steps.ts";
import { ERROR_TYPE_BY_STATUS, FakeWire, STATUS_BY_ERROR_TYPE, fullUsage, outputTokens, sse } from "./fake-wire.ts";

export type { FakeRequest, FakeRequestBody } from "./fake-request.ts";
export { systemText } from "./fake-request.ts";
export type { FakeBlock, FakeDelay, FakeDisconnect, FakeHttpError, FakeReply, FakeResponder, FakeStall, FakeStep, FakeStreamError, FakeUsage } from "./fake-steps.ts";
export { fakeSteps } from "./fake-steps.ts";

/** The key a fake accepts unless told otherwise. */
export const FAKE_ANTHROPIC_API_KEY = "sk-ant-fake-test-key";

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

/** Starts a fake on a free port of 127.0.0.1. */
export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const apiKey = options.apiKey ?? FAKE_ANTHROPIC_API_KEY;
  const promptCache = options.promptCaching ? new FakePromptCache(options.promptCaching === true ? {} : options.promptCaching) : undefined;
  const state = new FakeState(apiKey, promptCache);
  const server = createServer((req, res) => {
    state.handle(req, res).catch((e: unknown) => {
      // A bug in a test's responder: say so, and do not let the SDK retry into the next step.
      if (!res.headersSent) state.wire.sendError(res, 500, "api_error", `fake-anthropic failed: ${e instanceof Error ? e.message : String(e)}`, { "x-should-retry": "false" });
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    state.sockets.add(socket);
    socket.once("close", () => state.sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const close = () => state.close(server);

  const fake: FakeAnthropic = {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests: state.requests,
    get inFlight() {
      return state.inFlight;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    get queued() {
      return state.queue.length;
    },
    promptCache,
    enqueue(...steps) {
      state.queue.push(...steps);
      return fake;
    },
    respond(step) {
      state.fallback = step;
      return fake;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return fake;
}

/** One fake's requests, queued steps and open connections, and how it answers a request. */
class FakeState {
  readonly requests: FakeRequest[] = [];
  readonly queue: FakeStep[] = [];
  readonly sockets = new Set<Socket>();
  readonly wire = new FakeWire();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly open = new Set<ServerResponse>();
  fallback: FakeStep = (req) => fakeSteps.httpError(400, { message: `fake-anthropic: no step queued for request #${req.index}` });
  inFlight = 0;
  maxInFlight = 0;
  private closed = false;

  constructor(
    private readonly apiKey: string,
    private readonly promptCache: FakePromptCache | undefined,
  ) {}

  /** Records the request, rejects it as the API would (route, key, body), else plays the next step. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const xApiKey = req.headers["x-api-key"];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const record: FakeRequest = {
      index: this.requests.length,
      method: req.method ?? "GET",
      path: (req.url ?? "/").split("?")[0]!,
      headers: req.headers,
      auth: xApiKey !== undefined ? "x-api-key" : bearer !== undefined ? "bearer" : "none",
      body: body ?? {},
      receivedAt: performance.now(),
    };
    this.requests.push(record);
    if (record.method !== "POST" || record.path !== "/v1/messages") return this.wire.sendError(res, 404, "not_found_error", `fake-anthropic: no route ${record.method} ${record.path}`);
    if (xApiKey !== this.apiKey && bearer !== this.apiKey) return this.wire.sendError(res, 401, "authentication_error", "invalid x-api-key");
    const invalid = invalidBody(body);
    if (invalid) return this.wire.sendError(res, 400, "invalid_request_error", invalid);
    this.countInFlight(res);
    await this.play(this.queue.shift() ?? this.fallback, record, res);
  }

  /** Counts the response in flight until it ends or its connection closes. */
  private countInFlight(res: ServerResponse): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let counted = true;
    this.open.add(res);
    const done = () => {
      if (counted) this.inFlight--;
      counted = false;
      this.open.delete(res);
    };
    res.once("close", done);
    // Counted out just before the last byte is written, so a client's next
    // request can never find this one still counted.
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<typeof end>) => {
      done();
      return end(...args);
    }) as typeof res.end;
  }

  private async play(step: FakeStep, req: FakeRequest, res: ServerResponse): Promise<void> {
    while (typeof step === "function") step = await step(req);
    if (this.closed || res.destroyed) return;
    const streaming = req.body.stream === true;
    const model = req.body.model ?? "claude-fake";
    const wire = this.wire;
    switch (step.kind) {
      case "delay":
        await this.wait(step.ms);
        return this.play(step.then, req, res);
      case "http_error":
        return wire.sendError(res, step.status, step.errorType ?? ERROR_TYPE_BY_STATUS[step.status] ?? "api_error", step.message ?? `fake ${step.status}`, step.headers);
      case "reply": {
        const usage = fullUsage(step.usage, this.promptCache ? { ...this.promptCache.account(req.body), output_tokens: outputTokens(step) } : undefined);
        return streaming ? wire.streamReply(res, step, model, usage) : wire.jsonReply(res, step, model, usage);
      }
      case "stream_error": {
        const type = step.errorType ?? "overloaded_error";
        const message = step.message ?? (type === "overloaded_error" ? "Overloaded" : `fake ${type}`);
        if (!streaming) return wire.sendError(res, STATUS_BY_ERROR_TYPE[type] ?? 500, type, message);
        wire.startStream(res, model, step.text ?? "Partial");
        sse(res, "error", { type: "error", error: { type, message } });
        res.end();
        return;
      }
      case "disconnect":
        if (streaming) await new Promise<void>((resolve) => wire.startStream(res, model, step.text ?? "Partial", resolve));
        res.socket?.destroy();
        return;
      case "stall":
        if (streaming) wire.startStream(res, model, step.text ?? "Partial");
        await new Promise<void>((resolve) => res.once("close", resolve));
        return;
    }
  }

  /** A real timer, cleared on close. */
  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Stops the server: clears delays, cuts every connection, and waits for every open response to close. */
  async close(server: { close(cb: () => void): void }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const answered = [...this.open].map((res) => new Promise<void>((resolve) => (res.closed ? resolve() : res.once("close", () => resolve()))));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([stopped, ...answered]);
  }
}
