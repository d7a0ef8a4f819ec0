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

/** A record of `event`, its fields in the order the trace has always shown them; built field by field (a turn emits several events, each once). */
function recordOf(agent: AgentId, at: number, turn: number, host: HostId, event: AgentEvent, messageId: string | undefined, t: TraceIds | undefined): AgentEventRecord {
  const rec: Omit<AgentEventRecord, "event"> & { event?: AgentEvent } = { agent, at, turn, host };
  if (messageId) rec.messageId = messageId;
  if (t?.traceId) {
    rec.traceId = t.traceId;
    if (t.spanId) rec.spanId = t.spanId;
    if (t.parentSpanId) rec.parentSpanId = t.parentSpanId;
  }
  rec.event = event;
  return rec as AgentEventRecord;
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
      sink(recordOf(this.agent, this.deps.clock.now(), turn, this.deps.hostId, event, messageId, trace));
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, "an event listener failed");
    }
  }
}
