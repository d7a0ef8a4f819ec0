import type { Attributes, Context, Span, Tracer } from "@opentelemetry/api";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import type { IdGenerator } from "@opentelemetry/sdk-trace";
import { RandomIdGenerator } from "@opentelemetry/sdk-trace";
import type { AgentEvent, AgentEventRecord, Usage } from "@colony/actors";

/** One kind of agent event, narrowed. */
type EventOf<K extends AgentEvent["kind"]> = Extract<AgentEvent, { kind: K }>;
import { toolCallSpanId } from "@colony/actors";

/**
 * Turns an activation's events into OpenTelemetry spans named and shaped by
 * the GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/):
 *
 *   invoke_agent {type}      one per turn (per stretch of a turn on one host)
 *   ├─ chat {model}          one per model call
 *   └─ execute_tool {tool}   one per tool call
 *        └─ invoke_agent …   a delegated worker's turn, exported by its own host
 *
 * Built from events rather than wrapped around the code, so the turn loop
 * carries no tracing code and a host without an exporter pays nothing; the
 * events' timestamps are the spans' start and end.
 *
 * The ids are what ties hosts together without shared state: a turn's span
 * is a child of the span that sent its message (the HTTP caller's
 * traceparent, or the supervisor's delegate call), and a tool call's span id
 * is derived from the message's traceparent and the call id
 * (toolCallSpanId), the very id the delegate tool puts in the traceparent of
 * the worker's message.
 *
 * Loaded only when tracing is on (see otel.ts): it imports the SDK.
 */

/** Lets the builder choose a span's ids: the SDK asks its IdGenerator inside startSpan, synchronously. */
export class ChosenIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private next: { traceId?: string; spanId?: string } | undefined;

  generateTraceId(): string {
    return this.next?.traceId ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    return this.next?.spanId ?? this.random.generateSpanId();
  }

  /** Runs `start` with these ids offered to the tracer. */
  with<T>(ids: { traceId?: string; spanId?: string }, start: () => T): T {
    this.next = ids;
    try {
      return start();
    } finally {
      this.next = undefined;
    }
  }
}

/** A turn being traced on this host. */
interface OpenTurn {
  messageId: string | undefined;
  span: Span;
  ctx: Context;
  traceId: string;
  /** The span id of the message's traceparent (tool span ids derive from it). */
  messageSpanId: string | undefined;
  chat: Span | undefined;
  tools: Map<string, Span>;
}

/** Turns traced at once on one host, at most: past it the oldest is ended (a turn whose end never came). */
const MAX_OPEN_TURNS = 10_000;

/** What `gen_ai.provider.name` says for a Colony model provider's name. */
const providerName = (name: string | undefined): string => (name === "anthropic" ? "anthropic" : (name ?? "_OTHER"));

export class GenAiSpanBuilder {
  private readonly turns = new Map<string, OpenTurn>();

  constructor(
    private readonly tracer: Tracer,
    private readonly ids: ChosenIdGenerator,
  ) {}

  /** Feeds one event; events outside a traced turn (no trace id) are ignored. */
  readonly record = (rec: AgentEventRecord): void => {
    if (!rec.traceId) return;
    const e = rec.event;
    switch (e.kind) {
      case "turn_started": {
        const stale = this.turns.get(rec.agent);
        if (stale) this.endTurn(rec.agent, stale, rec.at, { status: "abandoned" });
        this.openTurn(rec);
        return;
      }
      case "model_request":
        return this.chatStarted(rec, e);
      case "model_response":
      case "model_error":
        return this.chatEnded(rec, e);
      case "tool_call": {
        const turn = this.turnFor(rec);
        turn.tools.get(e.callId)?.end(rec.at);
        turn.tools.set(e.callId, this.startTool(turn, e.tool, e.callId, rec.at));
        return;
      }
      case "tool_result":
        return this.toolEnded(rec, e);
      case "status":
        // A turn that stops to wait (an approval, a suspension) ends its span here; its rest is another span.
        if (e.status === "awaiting_approval" || e.status === "suspended") this.endOpenTurn(rec, { status: e.status });
        return;
      case "dead_lettered":
        return this.endOpenTurn(rec, { status: "dead_lettered", error: e.code });
      case "turn_finished":
        this.turns.get(rec.agent)?.span.setAttributes(usageAttributes(e.usage));
        return this.endOpenTurn(rec, { status: e.status, ...(e.error ? { error: e.error.code } : {}) });
      default:
        return;
    }
  };

  private chatStarted(rec: AgentEventRecord, e: EventOf<"model_request">): void {
    const turn = this.turnFor(rec);
    turn.chat?.end(rec.at);
    const attributes = { "gen_ai.operation.name": "chat", "gen_ai.provider.name": providerName(e.provider), "gen_ai.request.model": e.model, "colony.iteration": e.iteration };
    turn.chat = this.tracer.startSpan(`chat ${e.model}`, { kind: SpanKind.CLIENT, startTime: rec.at, attributes }, turn.ctx);
  }

  private chatEnded(rec: AgentEventRecord, e: EventOf<"model_response" | "model_error">): void {
    const turn = this.turnFor(rec);
    const chat = turn.chat ?? this.lateChat(turn, rec.at - e.durationMs);
    if (e.kind === "model_response") {
      chat.setAttributes({ ...usageAttributes(e.usage), "gen_ai.response.finish_reasons": [e.stopReason] });
    } else {
      chat.setAttribute("error.type", "model_error");
      chat.setStatus({ code: SpanStatusCode.ERROR, message: e.error.slice(0, 500) });
    }
    chat.end(rec.at);
    turn.chat = undefined;
  }

  private toolEnded(rec: AgentEventRecord, e: EventOf<"tool_result">): void {
    const turn = this.turnFor(rec);
    // A denied call has a result and no call event: its span is an instant.
    const span = turn.tools.get(e.callId) ?? this.startTool(turn, e.tool, e.callId, rec.at - e.durationMs);
    turn.tools.delete(e.callId);
    span.setAttribute("colony.tool.outcome", e.outcome);
    if (e.isError) {
      span.setAttribute("error.type", e.outcome === "ok" ? "tool_error" : e.outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.content.slice(0, 500) });
    }
    span.end(rec.at);
  }

  private endOpenTurn(rec: AgentEventRecord, how: { status: string; error?: string }): void {
    const turn = this.turns.get(rec.agent);
    if (turn) this.endTurn(rec.agent, turn, rec.at, how);
  }

  /** Ends every open span (shutdown): what was cut short is still exported. */
  endAll(at = Date.now()): void {
    for (const [agent, turn] of this.turns) this.endTurn(agent, turn, at, { status: "interrupted" });
  }

  private openTurn(rec: AgentEventRecord): OpenTurn {
    const type = rec.agent.split("/")[0]!;
    const traceId = rec.traceId!;
    // The sender's span, remote: the turn hangs under it. None: the turn is the trace's root.
    const parent = rec.parentSpanId ? trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: rec.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true }) : ROOT_CONTEXT;
    const attributes: Attributes = {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": type,
      "gen_ai.agent.id": rec.agent,
      "colony.turn": rec.turn,
      ...(rec.messageId ? { "colony.message.id": rec.messageId } : {}),
      ...(rec.host ? { "colony.host": rec.host } : {}),
    };
    const span = this.ids.with({ traceId }, () => this.tracer.startSpan(`invoke_agent ${type}`, { kind: SpanKind.INTERNAL, startTime: rec.at, attributes }, parent));
    const turn: OpenTurn = { messageId: rec.messageId, span, ctx: trace.setSpan(ROOT_CONTEXT, span), traceId, messageSpanId: rec.spanId, chat: undefined, tools: new Map() };
    this.turns.set(rec.agent, turn);
    if (this.turns.size > MAX_OPEN_TURNS) {
      const [oldest, open] = this.turns.entries().next().value!;
      this.endTurn(oldest, open, rec.at, { status: "abandoned" });
    }
    return turn;
  }

  /** The agent's open turn for this message; a turn resumed here (after an approval, on another host) opens a new span. */
  private turnFor(rec: AgentEventRecord): OpenTurn {
    const open = this.turns.get(rec.agent);
    if (open && open.messageId === rec.messageId) return open;
    if (open) this.endTurn(rec.agent, open, rec.at, { status: "abandoned" });
    const turn = this.openTurn(rec);
    turn.span.setAttribute("colony.turn.resumed", true);
    return turn;
  }

  private lateChat(turn: OpenTurn, at: number): Span {
    return this.tracer.startSpan("chat", { kind: SpanKind.CLIENT, startTime: at, attributes: { "gen_ai.operation.name": "chat" } }, turn.ctx);
  }

  private startTool(turn: OpenTurn, tool: string, callId: string, at: number): Span {
    // The id a delegation passes on to its worker (toolCallTraceparent), so the worker's turn is this span's child.
    const spanId = turn.messageSpanId ? toolCallSpanId(turn.traceId, turn.messageSpanId, callId) : undefined;
    const attributes: Attributes = { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool, "gen_ai.tool.call.id": callId, "gen_ai.tool.type": "function" };
    return this.ids.with(spanId ? { spanId } : {}, () => this.tracer.startSpan(`execute_tool ${tool}`, { kind: SpanKind.INTERNAL, startTime: at, attributes }, turn.ctx));
  }

  private endTurn(agent: string, turn: OpenTurn, at: number, how: { status: string; error?: string }): void {
    this.turns.delete(agent);
    turn.chat?.end(at);
    for (const span of turn.tools.values()) span.end(at);
    turn.span.setAttribute("colony.turn.status", how.status);
    if (how.error || how.status === "failed") {
      turn.span.setAttribute("error.type", how.error ?? "failed");
      turn.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    turn.span.end(at);
  }
}

/** Token counts as the conventions name them; input counts every input token, cached ones included. */
function usageAttributes(u: Usage): Attributes {
  return {
    "gen_ai.usage.input_tokens": u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens,
    "gen_ai.usage.output_tokens": u.outputTokens,
    ...(u.cacheReadTokens ? { "gen_ai.usage.cache_read.input_tokens": u.cacheReadTokens } : {}),
    ...(u.cacheWriteTokens ? { "gen_ai.usage.cache_creation.input_tokens": u.cacheWriteTokens } : {}),
  };
}
