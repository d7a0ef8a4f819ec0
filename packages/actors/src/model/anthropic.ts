import Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import type { Clock } from "../clock.ts";
import { sleep, systemClock } from "../clock.ts";
import { TimeoutError, UnavailableError, ValidationError } from "../errors.ts";
import type { ModelMetrics } from "../metrics.ts";
import { noopModelMetrics } from "../metrics.ts";
import type { ModelFailure } from "./anthropic-errors.ts";
import { classifyModelError } from "./anthropic-errors.ts";
import { fromMessage, toParams } from "./anthropic-wire.ts";
import type { CircuitBreakerOptions, CircuitPermit } from "./circuit-breaker.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";
import type { ModelCallLimiter } from "./limiter.ts";
import type { Usage } from "./messages.ts";
import type { PriceTable } from "./pricing.ts";
import { mergePrices } from "./pricing.ts";
import type { ModelCallOptions, ModelEvent, ModelProvider, ModelRequest, ModelResponse } from "./provider.ts";
import { CLAUDE_MODEL_PATTERN } from "./provider.ts";

export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";
/** Retries the SDK makes itself (408/409/429/5xx/529, connection errors). */
export const DEFAULT_SDK_MAX_RETRIES = 2;
/** Longest one attempt (connection, SDK retries, the whole streamed body) may take. */
export const DEFAULT_MODEL_TIMEOUT_MS = 10 * 60_000;
/** Whole-request retries after an error inside a 200 stream (the SDK retries none of those). */
export const DEFAULT_MID_STREAM_RETRIES = 2;
/** First pause before a mid-stream retry; it doubles each time, up to DEFAULT_RETRY_MAX_MS, less up to 25 % jitter. */
export const DEFAULT_RETRY_BASE_MS = 500;
export const DEFAULT_RETRY_MAX_MS = 8_000;

export interface AnthropicModelOptions {
  apiKey: string;
  /** Default https://api.anthropic.com (the environment is not read: config.ts passes ANTHROPIC_BASE_URL here). */
  baseURL?: string;
  /** Retries the SDK makes itself for 408/409/429/5xx/529 and connection errors, honouring retry-after-ms / retry-after / x-should-retry. Default 2. */
  maxRetries?: number;
  /**
   * Deadline of one attempt: connecting, the SDK's own retries and their
   * pauses, and the whole streamed body (the SDK's timeout, also set to this,
   * only covers each fetch up to the response headers). Default 10 minutes.
   */
  timeoutMs?: number;
  /**
   * Whole-request retries after an error that arrives inside a 200 stream
   * (`event: error` such as overloaded_error, a cut connection). Text deltas
   * of a failed attempt have already been emitted through `onEvent`; the
   * retry emits its own from the start, so a listener may see a prefix twice.
   * Default 2.
   */
  midStreamRetries?: number;
  /** First mid-stream retry pause; doubles per retry up to `retryMaxMs`. Default 500 ms. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * Mark prompt-cache breakpoints on every request (tools, system prompt,
   * the conversation so far; see markCacheBreakpoints in anthropic-wire.ts),
   * so each call pays full price only for what is new since the previous
   * one. Default true; false sends no `cache_control` (for a proxy that
   * refuses it).
   */
  promptCaching?: boolean;
  /** Overrides or extends DEFAULT_PRICES (see pricing.ts), keyed by model-name prefix. */
  priceTable?: PriceTable;
  metrics?: ModelMetrics;
  /** Times attempts, mid-stream backoff and the circuit breaker. */
  clock?: Clock;
  /** Shared by every provider on a host, to cap concurrent model requests. */
  limiter?: ModelCallLimiter;
  /** A breaker instance to share, or options for this provider's own one (its clock is `clock`). */
  circuitBreaker?: CircuitBreaker | Omit<CircuitBreakerOptions, "clock">;
}

const count = (field: string) => z.number({ error: `${field} must be a number` }).int(`${field} must be an integer`).nonnegative(`${field} must be ≥ 0`);
const optionsSchema = z.object({
  apiKey: z.string({ error: "apiKey must be a string" }).min(1, "apiKey must not be empty"),
  baseURL: z.url({ error: "baseURL must be an http(s) URL", protocol: /^https?$/ }).optional(),
  maxRetries: count("maxRetries").optional(),
  timeoutMs: count("timeoutMs").positive("timeoutMs must be > 0").optional(),
  midStreamRetries: count("midStreamRetries").optional(),
  retryBaseMs: count("retryBaseMs").optional(),
  retryMaxMs: count("retryMaxMs").optional(),
  promptCaching: z.boolean({ error: "promptCaching must be a boolean" }).optional(),
});

/** A failure already sorted; carried out of an attempt so it is not classified twice. */
class AttemptFailed extends Error {
  constructor(readonly failure: ModelFailure) {
    super(failure.error.message);
  }
}

/**
 * Claude through the streaming Messages API (@anthropic-ai/sdk).
 *
 * One `complete()` call: circuit breaker → limiter slot → streamed request
 * (the SDK retries HTTP errors itself) → on an error inside the stream, the
 * whole request again, up to `midStreamRetries` times → final message parsed
 * into a ModelResponse. Errors thrown are ColonyErrors (see
 * anthropic-errors.ts); an abort rethrows the signal's reason.
 */
export class AnthropicModel implements ModelProvider {
  readonly name = "anthropic";
  /** This provider's circuit breaker (shared when one was passed in). */
  readonly breaker: CircuitBreaker;
  private readonly client: Anthropic;
  private readonly prices: PriceTable;
  private readonly metrics: ModelMetrics;
  private readonly clock: Clock;
  private readonly limiter: ModelCallLimiter | undefined;
  private readonly timeoutMs: number;
  private readonly midStreamRetries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly promptCaching: boolean;

  constructor(opts: AnthropicModelOptions) {
    const parsed = optionsSchema.safeParse(opts);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join(".") || "options";
      throw new ValidationError(`AnthropicModel ${field}: ${issue.message}`, { field });
    }
    const o = parsed.data;
    this.prices = mergePrices(opts.priceTable);
    this.metrics = opts.metrics ?? noopModelMetrics;
    this.clock = opts.clock ?? systemClock;
    this.limiter = opts.limiter;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_MODEL_TIMEOUT_MS;
    this.midStreamRetries = o.midStreamRetries ?? DEFAULT_MID_STREAM_RETRIES;
    this.retryBaseMs = o.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    this.retryMaxMs = o.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
    this.promptCaching = o.promptCaching ?? true;
    this.breaker = opts.circuitBreaker instanceof CircuitBreaker ? opts.circuitBreaker : new CircuitBreaker({ ...opts.circuitBreaker, clock: this.clock });
    this.client = new Anthropic({
      apiKey: o.apiKey,
      baseURL: o.baseURL ?? ANTHROPIC_DEFAULT_BASE_URL,
      maxRetries: o.maxRetries ?? DEFAULT_SDK_MAX_RETRIES,
      timeout: this.timeoutMs,
    });
  }

  refuses(model: string): string | null {
    return CLAUDE_MODEL_PATTERN.test(model) ? null : `the Anthropic API serves claude-* models only, not "${model}"`;
  }

  availability(): { available: true } | { available: false; reason: string; retryAfterMs: number } {
    const s = this.breaker.snapshot();
    if (s.state !== "open") return { available: true };
    return { available: false, reason: `the model API failed ${s.consecutiveFailures} times in a row; calls are paused`, retryAfterMs: s.retryAfterMs };
  }

  async complete(request: ModelRequest, options: ModelCallOptions = {}): Promise<ModelResponse> {
    const { signal } = options;
    signal?.throwIfAborted();
    const started = this.clock.now();
    let status = "ok";
    try {
      const permit = this.breaker.tryAcquire();
      if (!permit.allowed) {
        status = "circuit_open";
        throw circuitOpenError(permit, this.breaker.failureThreshold);
      }
      try {
        const response = await this.withMidStreamRetries(toParams(request, { promptCaching: this.promptCaching }), options);
        this.breaker.record("success", permit.trial);
        this.reportUsage(request.model, response.usage);
        return response;
      } catch (e) {
        if (signal?.aborted) {
          status = "aborted";
          this.breaker.record("neutral", permit.trial);
          throw signal.reason;
        }
        const failure = e instanceof AttemptFailed ? e.failure : classifyModelError(e, false);
        status = failure.status;
        this.breaker.record(failure.outcome, permit.trial);
        throw failure.error;
      }
    } finally {
      this.metrics.llmRequest(request.model, status, Math.max(0, this.clock.now() - started) / 1000);
    }
  }

  private async withMidStreamRetries(params: Anthropic.MessageCreateParamsNonStreaming, options: ModelCallOptions): Promise<ModelResponse> {
    for (let retry = 0; ; retry++) {
      const release = await this.limiter?.acquire(options.signal);
      try {
        return await this.attempt(params, options);
      } catch (e) {
        if (!(e instanceof AttemptFailed) || !e.failure.retryMidStream || retry >= this.midStreamRetries) throw e;
      } finally {
        release?.();
      }
      await sleep(this.backoffMs(retry), { clock: this.clock, ...(options.signal ? { signal: options.signal } : {}) });
    }
  }

  /** One streamed request (with the SDK's own retries inside it). */
  private async attempt(params: Anthropic.MessageCreateParamsNonStreaming, { signal, onEvent }: ModelCallOptions): Promise<ModelResponse> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let midStream = false;
    const stream = this.client.messages.stream(params, { signal: controller.signal });
    stream.on("connect", () => {
      midStream = true;
    });
    if (onEvent) stream.on("streamEvent", (event) => forwardEvent(event, onEvent));
    try {
      const parsed = fromMessage(await stream.finalMessage(), this.prices);
      if (typeof parsed === "string") {
        throw new AttemptFailed({
          error: new UnavailableError(`the model API returned a message Colony cannot read (${parsed})`),
          status: "bad_response",
          outcome: "failure",
          retryMidStream: false,
        });
      }
      return parsed;
    } catch (e) {
      if (e instanceof AttemptFailed || signal?.aborted) throw e;
      if (timedOut) {
        throw new AttemptFailed({
          error: new TimeoutError(`the model API did not finish its response within ${this.timeoutMs} ms (timeoutMs)`, { cause: e }),
          status: "timeout",
          outcome: "failure",
          retryMidStream: false,
        });
      }
      throw new AttemptFailed(classifyModelError(e, midStream));
    } finally {
      timer.cancel();
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private reportUsage(model: string, usage: Usage): void {
    this.metrics.llmTokens(model, "input", usage.inputTokens);
    this.metrics.llmTokens(model, "output", usage.outputTokens);
    this.metrics.llmTokens(model, "cache_read", usage.cacheReadTokens);
    this.metrics.llmTokens(model, "cache_write", usage.cacheWriteTokens);
    this.metrics.llmCost(model, usage.costUsd);
  }

  private backoffMs(retry: number): number {
    return Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** retry) * (1 - Math.random() * 0.25);
  }
}

function circuitOpenError(permit: Extract<CircuitPermit, { allowed: false }>, threshold: number): UnavailableError {
  const wait = Math.max(0, Math.ceil(permit.retryAfterMs));
  const why =
    permit.state === "open"
      ? `the model API keeps failing (${threshold} calls in a row failed); calls fail fast for another ${wait} ms (circuit open)`
      : `the model API keeps failing; a trial call is checking whether it recovered (circuit half-open)`;
  return new UnavailableError(why, { retryAfterMs: wait });
}

/** Passes stream events on as ModelEvents; a listener that throws cannot break the stream. */
function forwardEvent(event: Anthropic.MessageStreamEvent, onEvent: (event: ModelEvent) => void): void {
  let out: ModelEvent | undefined;
  if (event.type === "content_block_delta" && event.delta.type === "text_delta") out = { kind: "text_delta", text: event.delta.text };
  else if (event.type === "content_block_start" && event.content_block.type === "tool_use") {
    out = { kind: "tool_use", id: event.content_block.id, name: event.content_block.name };
  }
  if (!out) return;
  try {
    onEvent(out);
  } catch {
    // The listener's problem, not the model call's.
  }
}

