import type { AgentEventRecord, AgentId, DeadLetterPage, HostId, InboxMessage, PendingApproval, Subscription } from "@colony/actors";
import type { TraceEntry, TraceQuery } from "./observability/trace-store.ts";
import { AlreadyExistsError, NotFoundError, agentId, errorMessage, childTraceparent, isTraceparent, newTraceparent, parseTraceparent, initialState, newAgentKey, newMessageId, parseAgentKey } from "@colony/actors";
import type { HostsReply } from "@colony/directory";
import type { AgentSummary, AgentView, MessagePage } from "./agent-view.ts";
import { DEFAULT_MESSAGE_PAGE, messagePage, toSummary, toView } from "./agent-view.ts";
import type { SendOutcome } from "./routing/local.ts";
import { hostRpcs } from "./routing/wire.ts";
import type { HostStats } from "./metrics/stats.ts";
import type { ChildActivity } from "./delegation/delegate-tool.ts";
import type { AgentTypes } from "./agent-types.ts";
import type { HostServiceDeps, SendRequest, SpawnRequest } from "./host-deps.ts";
import { DEFAULT_PAGE_SIZE } from "./host-deps.ts";
import { childActivity, deleteAgent, spawnChild } from "./agent-lifecycle.ts";
import { deadLetters, discardDeadLetter, replayDeadLetter } from "./dead-letters.ts";

export type { SendOutcome };
export type { HostServiceDeps, SendRequest, SpawnRequest } from "./host-deps.ts";
export { DEFAULT_PAGE_SIZE } from "./host-deps.ts";

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
   * again), drops its activation, then its workers, recursively (see
   * agent-lifecycle.ts).
   */
  delete(id: AgentId): Promise<void> {
    return deleteAgent(this.deps, id);
  }

  /**
   * Creates a worker agent for a supervisor, unless it exists already; no
   * worker outlives its supervisor (see agent-lifecycle.ts).
   */
  spawnChild(req: { type: string; key: string; config: unknown; parent: AgentId; depth: number }): Promise<void> {
    return spawnChild(this.deps, req);
  }

  /** What became of each worker: `gone`, `busy` or `finished` (see agent-lifecycle.ts). */
  childActivity(ids: readonly string[]): Promise<Map<string, ChildActivity>> {
    return childActivity(this.deps, ids);
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

  /** A page of the agent's dead letters, oldest first (any host answers). */
  deadLetters(id: AgentId, opts: { cursor?: string; limit?: number }): Promise<DeadLetterPage> {
    return deadLetters(this.deps, id, opts);
  }

  /** Sends a dead letter's message again, once even if retried, then removes the entry (see dead-letters.ts). */
  replayDeadLetter(id: AgentId, deadLetterId: string): Promise<{ messageId: string; duplicate: boolean; replayOf: string }> {
    return replayDeadLetter(this.deps, (agent, req) => this.send(agent, req), id, deadLetterId);
  }

  /** Drops a dead letter for good. */
  discardDeadLetter(id: AgentId, deadLetterId: string): Promise<void> {
    return discardDeadLetter(this.deps, id, deadLetterId);
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
