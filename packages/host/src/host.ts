import type {
  AgentEventRecord,
  AgentId,
  AgentStore,
  AgentTypeRegistry,
  ApprovalIndex,
  Clock,
  DeadLetterPage,
  HostId,
  InboxMessage,
  Logger,
  ModelProvider,
  PendingApproval,
  Subscription,
  ToolRegistry,
  TraceEntry,
  TraceStore,
  TraceQuery,
} from "@colony/actors";
import { AlreadyExistsError, NotFoundError, agentId, errorMessage, childTraceparent, isTraceparent, newTraceparent, parseTraceparent, initialState, newAgentKey, newMessageId, parseAgentKey } from "@colony/actors";
import type { DirectoryClient, HostsReply, PlacementRegistry } from "@colony/directory";
import type { AgentSummary, AgentView, MessagePage } from "./agent-view.ts";
import { DEFAULT_MESSAGE_PAGE, messagePage, toSummary, toView } from "./agent-view.ts";
import type { AgentEventHub } from "./observability/events.ts";
import type { LocalAgents, SendOutcome } from "./routing/local.ts";
import { hostRpcs } from "./routing/wire.ts";
import type { HostStats } from "./metrics/stats.ts";
import type { AgentRouter } from "./routing/router.ts";
import type { ChildActivity } from "./delegation/delegate-tool.ts";
import type { AgentTypes } from "./agent-types.ts";

export type { SendOutcome };

export interface SpawnRequest {
  type: string;
  key?: string;
  config?: unknown;
}

export interface SendRequest {
  content: string;
  idempotencyKey?: string;
  wait?: boolean;
  /** The caller's W3C traceparent header; the message continues that trace. */
  traceparent?: string;
  /** How long a waiting send waits (default waitTimeoutMs); used by delegation. */
  waitMs?: number;
  /** A waiting send answers as soon as the turn pauses for approval (the API's); delegation waits on. */
  untilPause?: boolean;
}

export interface HostServiceDeps {
  hostId: HostId;
  store: AgentStore;
  registry: PlacementRegistry;
  router: AgentRouter;
  directory: DirectoryClient;
  approvals: ApprovalIndex;
  traces: TraceStore;
  events: AgentEventHub;
  local: LocalAgents;
  types: AgentTypeRegistry;
  tools: ToolRegistry;
  /** This host's model provider: views name it. */
  model: ModelProvider;
  /** Every agent type a spawn may name, with its defaults. */
  agentTypes: AgentTypes;
  clock: Clock;
  logger: Logger;
  /** How long a `wait: true` send waits for its reply before answering 202. */
  waitTimeoutMs: number;
}

export const DEFAULT_PAGE_SIZE = 50;
/** How long the cluster's stats wait for one host. */
const STATS_TIMEOUT_MS = 1_000;

/**
 * What a host does for the admin API, for any agent wherever it lives:
 * spawn, list, read, delete and message. Ids are validated before it is
 * called.
 */
export class HostService {
  private draining = false;

  constructor(private readonly deps: HostServiceDeps) {}

  get hostId(): HostId {
    return this.deps.hostId;
  }

  /** Marks the host as leaving (SIGTERM): /readyz fails; requests are still served, by routing them elsewhere. */
  startDraining(): void {
    this.draining = true;
  }

  /** Agent types and their defaults (GET/PUT /v1/types). */
  get agentTypes(): AgentTypes {
    return this.deps.agentTypes;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async spawn(req: SpawnRequest): Promise<AgentView> {
    const { type, config } = await this.deps.agentTypes.resolve(req.type, req.config);
    const key = req.key === undefined ? newAgentKey() : parseAgentKey(req.key);
    const id = agentId(type, key);
    const state = initialState(id, type, key, config, this.deps.clock.now());
    if (!(await this.deps.store.create(state))) throw new AlreadyExistsError(`agent ${id} already exists`, { field: "key" });
    const provider = this.deps.model.name;
    if (provider === "scripted") {
      this.deps.logger.warn({ agent: id, model: config.model, provider }, "agent spawned: its model runs as the offline scripted model (ANTHROPIC_API_KEY is unset)");
    } else this.deps.logger.info({ agent: id, model: config.model, provider }, "agent spawned");
    return toView(state, null, provider);
  }


  /** Live state from the host running the agent; its last snapshot if it runs nowhere. */
  async get(id: AgentId): Promise<AgentView> {
    const view = (await this.deps.router.liveView(id)) ?? (await this.storedView(id));
    // A deleted worker leaves the list at once; the supervisor's state drops it at its next delegation.
    const present = await Promise.all(view.children.map(async (c) => (await this.deps.store.driver.readSnapshot(c)) !== null));
    return { ...view, children: view.children.filter((_, i) => present[i]) };
  }

  private async storedView(id: AgentId): Promise<AgentView> {
    const state = await this.deps.store.readState(id);
    if (!state) throw new NotFoundError(`agent ${id} does not exist`);
    return toView(state, null, this.deps.model.name);
  }

  /** A page of the agent's conversation: live from the host running it, else from its last snapshot. */
  async messages(id: AgentId, cursor = 0, limit = DEFAULT_MESSAGE_PAGE): Promise<MessagePage> {
    const live = await this.deps.router.liveMessages(id, cursor, limit);
    if (live) return live;
    const state = await this.deps.store.readState(id);
    if (!state) throw new NotFoundError(`agent ${id} does not exist`);
    return messagePage(state.messages, cursor, limit);
  }

  async list(opts: { type?: string; cursor?: string; limit?: number }): Promise<{ agents: AgentSummary[]; nextCursor: string | null }> {
    const limit = opts.limit ?? DEFAULT_PAGE_SIZE;
    const listOpts: { type?: string; after?: string; limit: number } = { limit };
    if (opts.type !== undefined) listOpts.type = opts.type;
    if (opts.cursor !== undefined) listOpts.after = opts.cursor;
    const ids = await this.deps.store.list(listOpts);
    const placements = await this.deps.registry.getMany(ids);
    const rows = await Promise.all(
      ids.map(async (id, i) => {
        const head = await this.deps.store.readHead(id as AgentId);
        return head ? toSummary(head, placements[i]?.host ?? null) : null;
      }),
    );
    return { agents: rows.filter((r): r is AgentSummary => r !== null), nextCursor: ids.length === limit ? ids[ids.length - 1]! : null };
  }

  /**
   * Deletes the agent (its fence advances, so its activation can never write
   * again), drops its activation, then its workers, recursively. Workers
   * come from the snapshot and from the live activation, read after the
   * fence advanced: a worker spawned in the running turn is in memory only
   * until the turn's next checkpoint. One spawned after that read finds its
   * supervisor gone and deletes itself (spawnChild).
   */
  async delete(id: AgentId): Promise<void> {
    const [placement] = await this.deps.registry.getMany([id]);
    const stored = (await this.deps.store.readHead(id))?.children ?? [];
    if (!(await this.deps.store.delete(id))) throw new NotFoundError(`agent ${id} does not exist`);
    // From the placement read before the delete: the delete removed it, and this host's cache may never have had it.
    const live = (await this.deps.router.liveView(id, placement ?? undefined).catch(() => null))?.children ?? [];
    this.deps.directory.invalidate(id);
    if (placement) await this.deps.router.evict(id, placement.host);
    // After the evict: a stopped activation adds no entry behind this.
    await this.deps.approvals.removeAgent(id).catch((e) => this.deps.logger.warn({ agent: id, err: errorMessage(e) }, "approval index not cleaned"));
    const children = [...new Set([...stored, ...live])];
    this.deps.logger.info({ agent: id, children: children.length }, "agent deleted");
    for (const child of children) await this.deleteIfExists(child as AgentId);
  }

  private async deleteIfExists(id: AgentId): Promise<void> {
    await this.delete(id).catch((e) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
  }

  /**
   * Creates a worker agent for a supervisor, unless it exists already (a
   * delegation re-attaching). If the supervisor was deleted meanwhile, the
   * worker is deleted again and NotFoundError thrown: no worker outlives its
   * supervisor, whichever of the delete and the spawn came first.
   */
  async spawnChild(req: { type: string; key: string; config: unknown; parent: AgentId; depth: number }): Promise<void> {
    const def = this.deps.types.get(req.type);
    const config = this.deps.types.resolve(def.type, req.config);
    await this.deps.tools.refreshUnknown(config.tools);
    this.deps.tools.assertKnown(config.tools, "config.tools");
    const id = agentId(def.type, parseAgentKey(req.key));
    const created = await this.deps.store.create(initialState(id, def.type, parseAgentKey(req.key), config, this.deps.clock.now(), req.parent, req.depth));
    if ((await this.deps.store.driver.readSnapshot(req.parent)) === null) {
      await this.deleteIfExists(id);
      throw new NotFoundError(`supervisor ${req.parent} was deleted`);
    }
    if (created) this.deps.logger.info({ agent: id, parent: req.parent, depth: req.depth }, "worker spawned");
  }

  /**
   * What became of each worker, from its last snapshot and inbox: `gone`
   * (deleted), `busy` (a turn in flight or a message not yet run) or
   * `finished`. A turn that ends without a tool call is durable only at its
   * commit, so the unprocessed inbox entry is what marks it busy.
   */
  async childActivity(ids: readonly string[]): Promise<Map<string, ChildActivity>> {
    const rows = await Promise.all(
      ids.map(async (id): Promise<[string, ChildActivity]> => {
        const state = await this.deps.store.readHead(id as AgentId);
        if (!state) return [id, "gone"];
        if (state.turn !== null || state.status === "running" || state.status === "awaiting_approval") return [id, "busy"];
        const queued = await this.deps.store.inboxMessage(state.id, state.lastSeq + 1);
        return [id, queued ? "busy" : "finished"];
      }),
    );
    return new Map(rows);
  }

  /**
   * Stores the message durably in the agent's inbox, wherever it lives (the
   * acknowledgement), then, with `wait`, waits up to waitTimeoutMs for the
   * reply. A repeated idempotency key answers with the original's outcome.
   */
  send(id: AgentId, req: SendRequest): Promise<SendOutcome> {
    const now = this.deps.clock.now();
    const traceparent = req.traceparent && isTraceparent(req.traceparent) ? childTraceparent(req.traceparent) : newTraceparent();
    const message: InboxMessage = { messageId: newMessageId(now), content: req.content, acceptedAt: now, traceparent };
    // The caller's span is the parent of the spans that handle the message (an OTLP exporter links them).
    const caller = req.traceparent ? parseTraceparent(req.traceparent) : undefined;
    if (caller) message.parentSpanId = caller.spanId;
    if (req.idempotencyKey !== undefined) message.idempotencyKey = req.idempotencyKey;
    return this.deps.router.send(id, message, req.wait === false ? null : (req.waitMs ?? this.deps.waitTimeoutMs), req.untilPause ?? false);
  }

  /** The agent's execution trace (from any host): every step of its turns, oldest first. */
  async trace(id: AgentId, q: TraceQuery): Promise<{ entries: TraceEntry[]; nextCursor: string | null }> {
    if (!(await this.deps.store.exists(id))) throw new NotFoundError(`agent ${id} does not exist`);
    // Entries recorded here are written in batches; a reader here sees its own host's latest.
    await this.deps.events.flush();
    return this.deps.traces.read(id, q);
  }

  /** Follows the agent's live events, wherever it runs. */
  async follow(id: AgentId, listener: (rec: AgentEventRecord) => void): Promise<Subscription> {
    if (!(await this.deps.store.exists(id))) throw new NotFoundError(`agent ${id} does not exist`);
    return this.deps.events.subscribe(id, listener);
  }

  /** Tool calls waiting for a person, across the cluster, oldest first. */
  approvals(): Promise<PendingApproval[]> {
    return this.deps.approvals.list();
  }

  /** Approves or denies a tool call waiting for a person; the agent's turn resumes once none waits. */
  async decide(id: AgentId, callId: string, approve: boolean, reason?: string): Promise<void> {
    const body = { callId, approve, ...(reason !== undefined ? { reason } : {}) };
    await this.deps.router.command(id, hostRpcs.decide, body, (epoch) => this.deps.local.decide(id, epoch, callId, approve, reason), () => undefined);
    this.deps.logger.info({ agent: id, callId, approve }, "tool call decided by an operator");
  }

  /** Closes a suspended agent's circuit (an operator's call). */
  resume(id: AgentId): Promise<AgentView> {
    return this.deps.router.command(id, hostRpcs.resume, {}, (epoch) => this.deps.local.resume(id, epoch), (reply) => reply.view);
  }

  /**
   * A page of the agent's dead letters, oldest first (read from the store:
   * any host answers). The cursor is the position of the last entry of the
   * previous page.
   */
  async deadLetters(id: AgentId, opts: { cursor?: string; limit?: number }): Promise<DeadLetterPage> {
    if (!(await this.deps.store.exists(id))) throw new NotFoundError(`agent ${id} does not exist`);
    return this.deps.store.deadLetters(id, { limit: opts.limit ?? DEFAULT_PAGE_SIZE, ...(opts.cursor !== undefined ? { after: opts.cursor } : {}) });
  }

  /**
   * Sends a dead letter's original message to the agent again, as a new
   * message (its own message id; the original's idempotency key already
   * answers with the dead-lettered result, so it is not reused). Its
   * idempotency key is `replay:<dead-letter id>`: a replay request retried
   * before the entry is removed finds that key and does not enqueue a second
   * copy, so the message runs once. The entry is removed once the message
   * is accepted; a replay retried after that answers 404.
   */
  async replayDeadLetter(id: AgentId, deadLetterId: string): Promise<{ messageId: string; duplicate: boolean; replayOf: string }> {
    const entry = await this.deps.store.deadLetter(id, deadLetterId);
    if (!entry) {
      if (!(await this.deps.store.exists(id))) throw new NotFoundError(`agent ${id} does not exist`);
      throw new NotFoundError(`agent ${id} has no dead letter ${deadLetterId} (replayed or discarded already?)`, { field: "id" });
    }
    const out = await this.send(id, {
      content: entry.message.content,
      idempotencyKey: `replay:${deadLetterId}`,
      wait: false,
      ...(entry.message.traceparent ? { traceparent: entry.message.traceparent } : {}),
    });
    await this.deps.store.discardDeadLetter(id, deadLetterId);
    this.deps.logger.info({ agent: id, deadLetter: deadLetterId, messageId: out.messageId, duplicate: out.duplicate }, "dead letter replayed");
    return { messageId: out.messageId, duplicate: out.duplicate, replayOf: deadLetterId };
  }

  /** Drops a dead letter for good. */
  async discardDeadLetter(id: AgentId, deadLetterId: string): Promise<void> {
    if (!(await this.deps.store.discardDeadLetter(id, deadLetterId))) {
      if (!(await this.deps.store.exists(id))) throw new NotFoundError(`agent ${id} does not exist`);
      throw new NotFoundError(`agent ${id} has no dead letter ${deadLetterId}`, { field: "id" });
    }
    this.deps.logger.info({ agent: id, deadLetter: deadLetterId }, "dead letter discarded");
  }

  hosts(): Promise<HostsReply> {
    return this.deps.directory.hosts();
  }

  /** Every live host's running totals (the console's cluster page); a host that does not answer in time is listed with the reason. */
  async clusterStats(): Promise<{ at: number; hosts: ({ host: string; stats: HostStats } | { host: string; error: string })[] }> {
    const { hosts } = await this.hosts();
    const live = hosts.filter((h) => h.status === "alive" || h.status === "suspected" || h.status === "draining");
    const rows = await Promise.all(
      live.map(async (h) => {
        try {
          return { host: h.id, stats: await this.deps.router.ask(h.id, hostRpcs.stats, {}, STATS_TIMEOUT_MS) };
        } catch (e) {
          return { host: h.id, error: errorMessage(e) };
        }
      }),
    );
    return { at: this.deps.clock.now(), hosts: rows };
  }
}
