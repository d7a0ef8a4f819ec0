import type { AgentId, AgentMetrics, AgentStore, AgentTypeRegistry, Clock, HostId, InboxMessage, Logger, ToolRegistry, TurnResult } from "@colony/actors";
import {
  AgentNotHereError,
  AlreadyExistsError,
  NotFoundError,
  UnavailableError,
  agentId,
  initialState,
  newAgentKey,
  newMessageId,
  parseAgentKey,
} from "@colony/actors";
import type { AgentSummary, AgentView } from "./agent-view.ts";
import { toSummary, toView } from "./agent-view.ts";
import type { Catalog } from "./catalog/catalog.ts";

export interface SpawnRequest {
  type: string;
  key?: string;
  config?: unknown;
}

export interface SendRequest {
  content: string;
  idempotencyKey?: string;
  wait?: boolean;
}

export type SendOutcome =
  | { kind: "completed"; messageId: string; duplicate: boolean; result: TurnResult }
  | { kind: "accepted"; messageId: string; duplicate: boolean };

export interface HostServiceDeps {
  hostId: HostId;
  store: AgentStore;
  catalog: Catalog;
  types: AgentTypeRegistry;
  tools: ToolRegistry;
  clock: Clock;
  metrics: AgentMetrics;
  logger: Logger;
  /** How long a `wait: true` send waits for its reply before answering 202. */
  waitTimeoutMs: number;
}

/** Times an activation may be found stopping (passivation racing a send) before giving up. */
const MAX_REROUTES = 5;
export const DEFAULT_PAGE_SIZE = 50;

/**
 * What a host does for the admin API, transport-agnostic: spawn, list, read,
 * delete and message agents. Validation of ids happens before it is called.
 */
export class HostService {
  private draining = false;

  constructor(private readonly deps: HostServiceDeps) {}

  get hostId(): HostId {
    return this.deps.hostId;
  }

  /** Refuses new work from now on (SIGTERM); reads keep working. */
  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  private assertAccepting(): void {
    if (this.draining) throw new UnavailableError(`host ${this.deps.hostId} is draining; send to another host`, { retryAfterMs: 1000 });
  }

  async spawn(req: SpawnRequest): Promise<AgentView> {
    this.assertAccepting();
    const def = this.deps.types.get(req.type);
    const key = req.key === undefined ? newAgentKey() : parseAgentKey(req.key);
    const config = this.deps.types.resolve(def.type, req.config);
    this.deps.tools.assertKnown(config.tools, "config.tools");
    for (const [name, w] of Object.entries(config.workers)) this.deps.tools.assertKnown(w.tools ?? [], `config.workers.${name}.tools`);
    const id = agentId(def.type, key);
    const state = initialState(id, def.type, key, config, this.deps.clock.now());
    if (!(await this.deps.store.create(state))) throw new AlreadyExistsError(`agent ${id} already exists`, { field: "key" });
    this.deps.logger.info({ agent: id }, "agent spawned");
    return toView(state, null);
  }

  async get(id: AgentId): Promise<AgentView> {
    const live = this.deps.catalog.get(id);
    if (live) return toView(live.view(), this.deps.hostId);
    const state = await this.deps.store.readState(id);
    if (!state) throw new NotFoundError(`agent ${id} does not exist`);
    return toView(state, null);
  }

  async list(opts: { type?: string; cursor?: string; limit?: number }): Promise<{ agents: AgentSummary[]; nextCursor: string | null }> {
    const limit = opts.limit ?? DEFAULT_PAGE_SIZE;
    const listOpts: { type?: string; after?: string; limit: number } = { limit };
    if (opts.type !== undefined) listOpts.type = opts.type;
    if (opts.cursor !== undefined) listOpts.after = opts.cursor;
    const ids = await this.deps.store.list(listOpts);
    const rows = await Promise.all(
      ids.map(async (raw) => {
        const id = raw as AgentId;
        const live = this.deps.catalog.get(id);
        if (live) return toSummary(live.view(), this.deps.hostId);
        const state = await this.deps.store.readState(id);
        return state ? toSummary(state, null) : null;
      }),
    );
    return { agents: rows.filter((r): r is AgentSummary => r !== null), nextCursor: ids.length === limit ? ids[ids.length - 1]! : null };
  }

  async delete(id: AgentId): Promise<void> {
    this.deps.catalog.evict(id, new NotFoundError(`agent ${id} was deleted`));
    if (!(await this.deps.store.delete(id))) throw new NotFoundError(`agent ${id} does not exist`);
    this.deps.logger.info({ agent: id }, "agent deleted");
  }

  /**
   * Stores the message durably (the acknowledgement), then, with `wait`,
   * waits up to waitTimeoutMs for its turn's result. A repeated message id or
   * idempotency key answers with the original message's outcome.
   */
  async send(id: AgentId, req: SendRequest): Promise<SendOutcome> {
    this.assertAccepting();
    const message: InboxMessage = { messageId: newMessageId(this.deps.clock.now()), content: req.content, acceptedAt: this.deps.clock.now() };
    if (req.idempotencyKey !== undefined) message.idempotencyKey = req.idempotencyKey;
    for (let attempt = 0; ; attempt++) {
      const activation = await this.deps.catalog.ensure(id);
      if (!activation) throw new NotFoundError(`agent ${id} does not exist`);
      const type = activation.view().type;
      let accepted;
      try {
        accepted = await activation.accept(message);
      } catch (e) {
        // Passivation won the race: the next ensure() starts a fresh activation.
        if (e instanceof AgentNotHereError && attempt < MAX_REROUTES) continue;
        throw e;
      }
      const duplicate = accepted.kind === "duplicate";
      const messageId = accepted.kind === "duplicate" ? accepted.messageId : message.messageId;
      this.deps.metrics.message(type, duplicate ? "duplicate" : "accepted");
      if (req.wait === false) return { kind: "accepted", messageId, duplicate };
      const result = await this.waitForResult(activation.result(messageId));
      return result ? { kind: "completed", messageId, duplicate, result } : { kind: "accepted", messageId, duplicate };
    }
  }

  private async waitForResult(pending: Promise<TurnResult | null>): Promise<TurnResult | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.deps.waitTimeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
