import type { ActivationId, AgentId } from "../ids.ts";
import type { LogFields, Logger } from "../logger.ts";

/** What names an activation in its log lines. */
export interface ActivationLabels {
  readonly id: AgentId;
  readonly activationId: ActivationId;
  readonly epoch: number;
}

/**
 * An activation's logger: its lines carry the agent, activation and epoch,
 * merged into each line's fields. Not a child logger of its own: a child
 * per activation costs about a kilobyte for each idle agent, and an idle
 * agent seldom logs.
 */
export class BoundLogger implements Logger {
  constructor(
    private readonly parent: Logger,
    private readonly labels: ActivationLabels,
  ) {}

  private fields(fields: LogFields): LogFields {
    const { id, activationId, epoch } = this.labels;
    return { agent: id, activation: activationId, epoch, ...fields };
  }

  isDebugEnabled(): boolean {
    return this.parent.isDebugEnabled?.() ?? true;
  }

  debug(fields: LogFields, msg: string): void {
    if (this.isDebugEnabled()) this.parent.debug(this.fields(fields), msg);
  }

  info(fields: LogFields, msg: string): void {
    this.parent.info(this.fields(fields), msg);
  }

  warn(fields: LogFields, msg: string): void {
    this.parent.warn(this.fields(fields), msg);
  }

  error(fields: LogFields, msg: string): void {
    this.parent.error(this.fields(fields), msg);
  }

  child(bindings: LogFields): Logger {
    return this.parent.child(this.fields(bindings));
  }
}
