import type { AgentId } from "@colony/actors";
import { NotFoundError, agentId, errorMessage, initialState, parseAgentKey } from "@colony/actors";
import type { ChildActivity } from "./delegation/delegate-tool.ts";
import type { HostServiceDeps } from "./host-deps.ts";

/*
 * Deleting agents (with their workers) and spawning workers for a
 * supervisor, so that no worker outlives its supervisor whichever comes
 * first. HostService delegates here.
 */

/**
 * Deletes the agent (its fence advances, so its activation can never write
 * again), drops its activation, then its workers, recursively. Workers
 * come from the snapshot and from the live activation, read after the
 * fence advanced: a worker spawned in the running turn is in memory only
 * until the turn's next checkpoint. One spawned after that read finds its
 * supervisor gone and deletes itself (spawnChild).
 */
export async function deleteAgent(deps: HostServiceDeps, id: AgentId): Promise<void> {
  const [placement] = await deps.registry.getMany([id]);
  const stored = (await deps.store.readHead(id))?.children ?? [];
  if (!(await deps.store.delete(id))) throw new NotFoundError(`agent ${id} does not exist`);
  // From the placement read before the delete: the delete removed it, and this host's cache may never have had it.
  const live = (await deps.router.liveView(id, placement ?? undefined).catch(() => null))?.children ?? [];
  deps.directory.invalidate(id);
  if (placement) await deps.router.evict(id, placement.host);
  // After the evict: a stopped activation adds no entry behind this.
  await deps.approvals.removeAgent(id).catch((e) => deps.logger.warn({ agent: id, err: errorMessage(e) }, "approval index not cleaned"));
  const children = [...new Set([...stored, ...live])];
  deps.logger.info({ agent: id, children: children.length }, "agent deleted");
  for (const child of children) await deleteIfExists(deps, child as AgentId);
}

async function deleteIfExists(deps: HostServiceDeps, id: AgentId): Promise<void> {
  await deleteAgent(deps, id).catch((e) => {
    if (!(e instanceof NotFoundError)) throw e;
  });
}

/**
 * Creates a worker agent for a supervisor, unless it exists already (a
 * delegation re-attaching). If the supervisor was deleted meanwhile, the
 * worker is deleted again and NotFoundError thrown: no worker outlives its
 * supervisor, whichever of the delete and the spawn came first.
 */
export async function spawnChild(deps: HostServiceDeps, req: { type: string; key: string; config: unknown; parent: AgentId; depth: number }): Promise<void> {
  const def = deps.types.get(req.type);
  const config = deps.types.resolve(def.type, req.config);
  await deps.tools.refreshUnknown(config.tools);
  deps.tools.assertKnown(config.tools, "config.tools");
  const id = agentId(def.type, parseAgentKey(req.key));
  const created = await deps.store.create(initialState(id, def.type, parseAgentKey(req.key), config, deps.clock.now(), req.parent, req.depth));
  if ((await deps.store.driver.readSnapshot(req.parent)) === null) {
    await deleteIfExists(deps, id);
    throw new NotFoundError(`supervisor ${req.parent} was deleted`);
  }
  if (created) deps.logger.info({ agent: id, parent: req.parent, depth: req.depth }, "worker spawned");
}

/**
 * What became of each worker, from its last snapshot and inbox: `gone`
 * (deleted), `busy` (a turn in flight or a message not yet run) or
 * `finished`. A turn that ends without a tool call is durable only at its
 * commit, so the unprocessed inbox entry is what marks it busy.
 */
export async function childActivity(deps: HostServiceDeps, ids: readonly string[]): Promise<Map<string, ChildActivity>> {
  const rows = await Promise.all(
    ids.map(async (id): Promise<[string, ChildActivity]> => {
      const state = await deps.store.readHead(id as AgentId);
      if (!state) return [id, "gone"];
      if (state.turn !== null || state.status === "running" || state.status === "awaiting_approval") return [id, "busy"];
      const queued = await deps.store.inboxMessage(state.id, state.lastSeq + 1);
      return [id, queued ? "busy" : "finished"];
    }),
  );
  return new Map(rows);
}
