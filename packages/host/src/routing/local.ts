import type { Activation, ActivationReason, AgentId, AgentMetrics, HostId, InboxMessage, ModelProvider, TurnResult } from "@colony/actors";
import { NotFoundError, UnavailableError, WrongStateError, messageTiming, withTimeout } from "@colony/actors";
import type { AgentView, MessagePage } from "../agent-view.ts";
import { messagePage, toView } from "../agent-view.ts";
import type { Catalog } from "../catalog/catalog.ts";

/** What a send produced: the turn's result, or only the acknowledgement. */
export type SendOutcome =
  | { kind: "completed"; messageId: string; duplicate: boolean; result: TurnResult }
  | { kind: "accepted"; messageId: string; duplicate: boolean }
  | { kind: "awaiting_approval"; messageId: string; duplicate: boolean; awaiting: string[] };

/**
 * Agents active on this host, at the epoch their placement granted: the
 * end of every route, local or forwarded.
 */
export class LocalAgents {
  constructor(
    private readonly hostId: HostId,
    private readonly catalog: Catalog,
    private readonly metrics: AgentMetrics,
    private readonly model: ModelProvider,
  ) {}

  /**
   * Accepts the message into the agent's durable inbox (the acknowledgement)
   * and, with `waitMs`, waits that long for its turn's result or, with
   * `untilPause`, until the turn pauses for a person's approval.
   */
  async send(id: AgentId, epoch: number, message: InboxMessage, waitMs: number | null, untilPause = false): Promise<SendOutcome> {
    const model = this.model.availability?.();
    if (model && !model.available) throw new UnavailableError(`cannot take messages now: ${model.reason}`, { retryAfterMs: model.retryAfterMs });
    const activation = this.catalog.running(id, epoch) ?? (await this.active(id, epoch));
    const suspension = activation.view().suspension;
    if (suspension) {
      throw new WrongStateError(`agent ${id} is suspended: ${suspension.reason}. Resume it with \`colony agents resume ${id}\` or POST /v1/agents/${id}/resume`, {
        field: "status",
        suspension: suspension.code,
        reason: suspension.reason,
      });
    }
    const accepted = await activation.accept(message);
    messageTiming.mark(message.messageId, "accepted");
    // Message ids are minted per client request, so an earlier append of this
    // very id is this request's own retry (a router resending after a timeout
    // or for the next wait slice, a resend after a lost Redis reply): only an
    // earlier message under the same idempotency key is a duplicate to the client.
    const duplicate = accepted.kind === "duplicate" && accepted.messageId !== message.messageId;
    const messageId = accepted.kind === "duplicate" ? accepted.messageId : message.messageId;
    const ownRetry = accepted.kind === "duplicate" && !duplicate;
    if (!ownRetry) this.metrics.message(activation.view().type, duplicate ? "duplicate" : "accepted");
    if (waitMs === null) return { kind: "accepted", messageId, duplicate };
    const out = untilPause ? await this.resultOrPause(activation, messageId, waitMs) : await withTimeout(activation.result(messageId), waitMs, () => null);
    messageTiming.mark(message.messageId, "result");
    if (out && "awaiting" in out) return { kind: "awaiting_approval", messageId, duplicate, awaiting: out.awaiting };
    return out ? { kind: "completed", messageId, duplicate, result: out } : { kind: "accepted", messageId, duplicate };
  }

  /** The turn's result, or the waiting call ids once it pauses for approval; null after `waitMs`. */
  private async resultOrPause(activation: Activation, messageId: string, waitMs: number): Promise<TurnResult | { awaiting: string[] } | null> {
    let off = () => {};
    const paused = new Promise<{ awaiting: string[] }>((resolve) => {
      off = activation.onPause(messageId, (awaiting) => resolve({ awaiting }));
    });
    try {
      return await withTimeout(Promise.race([activation.result(messageId), paused]), waitMs, () => null);
    } finally {
      off();
    }
  }

  /** The agent's live state, if it is active here. */
  view(id: AgentId): AgentView | null {
    const a = this.catalog.get(id);
    return a ? toView(a.view(), this.hostId, this.model.name) : null;
  }

  /** A page of the agent's live conversation, if it is active here. */
  messages(id: AgentId, cursor: number, limit: number): MessagePage | null {
    const a = this.catalog.get(id);
    return a ? messagePage(a.view().messages, cursor, limit) : null;
  }

  /** Drops the agent's activation here without writing (it was deleted). */
  evict(id: AgentId): void {
    this.catalog.evict(id, new NotFoundError(`agent ${id} was deleted`));
  }

  /** A person's decision on a tool call waiting for approval. */
  async decide(id: AgentId, epoch: number, callId: string, approve: boolean, reason?: string): Promise<void> {
    await (await this.active(id, epoch)).decide(callId, approve, reason);
  }

  /** Closes a suspended agent's circuit; returns its state. */
  async resume(id: AgentId, epoch: number): Promise<AgentView> {
    const activation = await this.active(id, epoch);
    await activation.resume();
    return toView(activation.view(), this.hostId, this.model.name);
  }

  private async active(id: AgentId, epoch: number) {
    const activation = await this.catalog.ensure(id, epoch);
    if (!activation) throw new NotFoundError(`agent ${id} does not exist`);
    return activation;
  }

  async activate(id: AgentId, epoch: number, reason: ActivationReason): Promise<void> {
    if (!(await this.catalog.ensure(id, epoch, reason))) throw new NotFoundError(`agent ${id} does not exist`);
  }
}
