import type { Clock } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import type { AgentId, HostId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import { messageTiming } from "../message-timing.ts";
import type { AgentEvent, AgentEventRecord } from "./events.ts";
import type { InboxMessage } from "./state.ts";

/** Where a turn sits in its trace (from its message's traceparent), as its events carry it. */
export interface TraceIds {
  traceId: string | undefined;
  spanId: string | undefined;
  parentSpanId: string | undefined;
}

/** The trace ids of a message's turn: `traceparent` is `version-traceId-spanId-flags`. */
export function traceOf(message: InboxMessage): TraceIds {
  const parts = message.traceparent?.split("-");
  return { traceId: parts?.[1], spanId: parts?.[2], parentSpanId: message.parentSpanId };
}

function traceFields(t: TraceIds | undefined): { traceId?: string; spanId?: string; parentSpanId?: string } {
  if (!t?.traceId) return {};
  return { traceId: t.traceId, ...(t.spanId ? { spanId: t.spanId } : {}), ...(t.parentSpanId ? { parentSpanId: t.parentSpanId } : {}) };
}

/** Hands an agent's events to its listener (live stream, execution trace); a failing listener is logged, never thrown. */
export class EventSink {
  constructor(
    private readonly agent: AgentId,
    private readonly deps: { hostId: HostId; clock: Clock; onEvent?: (record: AgentEventRecord) => void },
    private readonly log: Logger,
  ) {}

  emit(event: AgentEvent, turn: number, messageId?: string, trace?: TraceIds): void {
    if (messageId && (event.kind === "model_response" || event.kind === "tool_result")) messageTiming.mark(messageId, event.kind);
    const sink = this.deps.onEvent;
    if (!sink) return;
    try {
      sink({ agent: this.agent, at: this.deps.clock.now(), turn, host: this.deps.hostId, ...(messageId ? { messageId } : {}), ...traceFields(trace), event });
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, "an event listener failed");
    }
  }
}
