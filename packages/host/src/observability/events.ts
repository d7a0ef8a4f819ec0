import type { AgentEventRecord, Logger, Subscription, TraceStore, Transport } from "@colony/actors";
import { agentEventRecordSchema, errorMessage, newMessageId, subjects } from "@colony/actors";

/**
 * Where an agent's events go: every event but text deltas into its durable
 * execution trace, and every event onto the bus, so a live stream opened on
 * any host sees the turns of an agent running on any other.
 */
export class AgentEventHub {
  constructor(private readonly o: { hostId: string; traces: TraceStore; transport: Transport; logger: Logger }) {}

  readonly record = (rec: AgentEventRecord): void => {
    if (rec.event.kind !== "text_delta") {
      this.o.traces.append(rec).catch((e) => this.o.logger.warn({ agent: rec.agent, err: errorMessage(e) }, "trace entry not recorded"));
    }
    try {
      this.o.transport.publish(subjects.agentEvents(rec.agent), { id: newMessageId(), kind: "agent.event", from: this.o.hostId, target: rec.agent, deadline: rec.at + 60_000, body: rec });
    } catch (e) {
      this.o.logger.debug({ agent: rec.agent, err: errorMessage(e) }, "live event not published");
    }
  };

  /** Live events of one agent, from whichever host runs it; resolves once the subscription is in place. */
  async subscribe(agent: string, listener: (rec: AgentEventRecord) => void): Promise<Subscription> {
    const sub = this.o.transport.subscribe(subjects.agentEvents(agent), (env) => {
      const parsed = agentEventRecordSchema.safeParse(env.body);
      if (parsed.success) listener(parsed.data);
    });
    await this.o.transport.flush();
    return sub;
  }
}
