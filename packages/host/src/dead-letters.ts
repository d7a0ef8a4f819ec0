import type { AgentId, DeadLetterPage } from "@colony/actors";
import { NotFoundError } from "@colony/actors";
import type { HostServiceDeps, SendRequest } from "./host-deps.ts";
import { DEFAULT_PAGE_SIZE } from "./host-deps.ts";
import type { SendOutcome } from "./routing/local.ts";

/* An agent's dead letters for the admin API: list, replay, discard. HostService delegates here. */

/**
 * A page of the agent's dead letters, oldest first (read from the store:
 * any host answers). The cursor is the position of the last entry of the
 * previous page.
 */
export async function deadLetters(deps: HostServiceDeps, id: AgentId, opts: { cursor?: string; limit?: number }): Promise<DeadLetterPage> {
  if (!(await deps.store.exists(id))) throw new NotFoundError(`agent ${id} does not exist`);
  return deps.store.deadLetters(id, { limit: opts.limit ?? DEFAULT_PAGE_SIZE, ...(opts.cursor !== undefined ? { after: opts.cursor } : {}) });
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
export async function replayDeadLetter(deps: HostServiceDeps, send: (id: AgentId, req: SendRequest) => Promise<SendOutcome>, id: AgentId, deadLetterId: string): Promise<{ messageId: string; duplicate: boolean; replayOf: string }> {
  const entry = await deps.store.deadLetter(id, deadLetterId);
  if (!entry) {
    if (!(await deps.store.exists(id))) throw new NotFoundError(`agent ${id} does not exist`);
    throw new NotFoundError(`agent ${id} has no dead letter ${deadLetterId} (replayed or discarded already?)`, { field: "id" });
  }
  const out = await send(id, {
    content: entry.message.content,
    idempotencyKey: `replay:${deadLetterId}`,
    wait: false,
    ...(entry.message.traceparent ? { traceparent: entry.message.traceparent } : {}),
  });
  await deps.store.discardDeadLetter(id, deadLetterId);
  deps.logger.info({ agent: id, deadLetter: deadLetterId, messageId: out.messageId, duplicate: out.duplicate }, "dead letter replayed");
  return { messageId: out.messageId, duplicate: out.duplicate, replayOf: deadLetterId };
}

/** Drops a dead letter for good. */
export async function discardDeadLetter(deps: HostServiceDeps, id: AgentId, deadLetterId: string): Promise<void> {
  if (!(await deps.store.discardDeadLetter(id, deadLetterId))) {
    if (!(await deps.store.exists(id))) throw new NotFoundError(`agent ${id} does not exist`);
    throw new NotFoundError(`agent ${id} has no dead letter ${deadLetterId}`, { field: "id" });
  }
  deps.logger.info({ agent: id, deadLetter: deadLetterId }, "dead letter discarded");
}
