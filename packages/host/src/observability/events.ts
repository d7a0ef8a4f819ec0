import type { AgentEventRecord, Logger, Subscription, TraceStore, Transport } from "@colony/actors";
import { agentEventRecordSchema, errorMessage, newMessageId, subjects } from "@colony/actors";

/**
 * Where an agent's events go: every event but text deltas into its durable
 * execution trace, and every event onto the bus, so a live stream opened on
 * any host sees the turns of an agent running on any other.
 */
export class AgentEventHub {
  private batch: AgentEventRecord[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly o: { hostId: string; traces: TraceStore; transport: Transport; logger: Logger }) {}

  readonly record = (rec: AgentEventRecord): void => {
    if (rec.event.kind !== "text_delta") {
      // Steps of one tick go to the trace store in one round trip, off the turn's path.
      this.batch.push(rec);
      if (this.batch.length === 1) setImmediate(() => void this.flush());
    }
    try {
      this.o.transport.publish(subjects.agentEvents(rec.agent), { id: newMessageId(), kind: "agent.event", from: this.o.hostId, target: rec.agent, deadline: rec.at + 60_000, body: rec });
    } catch (e) {
      this.o.logger.debug({ agent: rec.agent, err: errorMessage(e) }, "live event not published");
    }
  };

  /** Writes the pending trace entries; resolves when they are stored (or dropped with a warning). */
  flush(): Promise<void> {
    const records = this.batch;
    if (records.length === 0) return this.flushing ?? Promise.resolve();
    this.batch = [];
    const previous = this.flushing ?? Promise.resolve();
    const next = previous
      .then(() => this.o.traces.append(records))
      .catch((e) => this.o.logger.warn({ entries: records.length, err: errorMessage(e) }, "trace entries not recorded"));
    this.flushing = next;
    return next;
  }

  /** Live events of one agent, from whichever host runs it; resolves once the subscription is in place. */
  async subscribe(agent: string, listener: (rec: AgentEventRecord) => void): Promise<Subscription> {
    const sub = this.o.transport.subscribe(subjects.agentEvents(agent), (env) => {
      const parsed = agentEventRecordSchema.safeParse(env.body);
      if (parsed.success) listener(parsed.data);
    });
    try {
      await this.o.transport.flush();
    } catch (e) {
      // The caller gets an error, not the subscription: it must not outlive the request.
      sub.unsubscribe();
      throw e;
    }
    return sub;
  }
}
