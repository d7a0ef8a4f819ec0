import type { AgentId, Clock, HostId, InboxMessage, Rpc, RpcReply, RpcRequest, Transport } from "@colony/actors";
import { ColonyError, NotFoundError, call, messageTiming, subjects } from "@colony/actors";
import type { DirectoryClient, Placement } from "@colony/directory";
import type { AgentView, MessagePage } from "../agent-view.ts";
import type { LocalAgents, SendOutcome } from "./local.ts";
import { hostRpcs } from "./wire.ts";

/** How long a message may spend finding its agent (a failover takes up to ~2 s). */
export const DEFAULT_ROUTE_DEADLINE_MS = 10_000;
/** Extra time a forwarded request waits beyond the owner's own wait. */
const FORWARD_MARGIN_MS = 1_000;
/** Longest wait one forwarded request carries; longer waits are repeated slices. */
export const WAIT_SLICE_MS = 2_000;
const GET_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 5_000;

export interface RouterOptions {
  hostId: HostId;
  local: LocalAgents;
  directory: DirectoryClient;
  transport: Transport;
  clock: Clock;
  routeDeadlineMs?: number;
}

/** Errors after which the message should look for its agent again. */
function shouldReroute(e: unknown): boolean {
  if (!(e instanceof ColonyError)) return false;
  // A timeout leaves the outcome unknown; resending the same message id is
  // safe: the inbox deduplicates it.
  return e.action === "reroute" || e.code === "stale_epoch" || e.code === "timeout";
}

/**
 * Finds where an agent lives (asking the directory, which places it if it
 * lives nowhere) and runs the operation there: locally, or forwarded over
 * the transport. A stale route ("not here", nobody answering) is dropped
 * and the operation retried, with the same message id, until a deadline.
 */
export class AgentRouter {
  private readonly deadlineMs: number;

  constructor(private readonly o: RouterOptions) {
    this.deadlineMs = o.routeDeadlineMs ?? DEFAULT_ROUTE_DEADLINE_MS;
  }

  async send(id: AgentId, message: InboxMessage, waitMs: number | null, untilPause = false): Promise<SendOutcome> {
    const start = this.o.clock.now();
    const giveUpAt = start + this.deadlineMs + (waitMs ?? 0);
    messageTiming.mark(message.messageId, "route");
    for (let attempt = 0; ; attempt++) {
      const placement = await this.o.directory.lookup(id, true);
      if (!placement) throw new NotFoundError(`agent ${id} does not exist`);
      messageTiming.mark(message.messageId, "lookup");
      const remainingWait = waitMs === null ? null : Math.max(0, waitMs - (this.o.clock.now() - start));
      try {
        if (placement.host === this.o.hostId) return await this.o.local.send(id, placement.epoch, message, remainingWait, untilPause);
        // A long wait is forwarded in slices: if the owner dies mid-wait, the
        // slice times out and the message (same id: deduplicated) follows
        // its agent to the new owner instead of waiting on a dead host.
        const slice = remainingWait === null ? null : Math.min(remainingWait, WAIT_SLICE_MS);
        const out = await this.forward(placement.host, id, placement.epoch, message, slice, untilPause);
        if (out.kind === "accepted" && remainingWait !== null && remainingWait > WAIT_SLICE_MS) continue;
        return out;
      } catch (e) {
        if (!shouldReroute(e) || this.o.clock.now() >= giveUpAt) throw e;
        this.o.directory.invalidate(id, placement.epoch);
        await backoff(attempt);
      }
    }
  }

  private async forward(host: string, id: AgentId, epoch: number, message: InboxMessage, waitMs: number | null, untilPause: boolean): Promise<SendOutcome> {
    const timeout = (waitMs ?? 0) + FORWARD_MARGIN_MS * 2;
    messageTiming.mark(message.messageId, "sent");
    // The message's own id: a resend (for the next wait slice, after a timeout) is deduplicated by it.
    const reply = await this.request(host, hostRpcs.send, { epoch, message, waitMs, ...(untilPause ? { untilPause } : {}) }, { target: id, timeoutMs: timeout, id: message.messageId });
    messageTiming.mark(message.messageId, "replied");
    if (messageTiming.enabled) messageTiming.adopt(message.messageId, "owner.", reply.timing);
    const { timing: _timing, ...out } = reply;
    return out;
  }

  /**
   * A request to another host, given up (as a stale route) the moment the
   * directory announces that host gone: nobody waits out a timeout on a host
   * already declared dead. Resending the same message id elsewhere is safe.
   */
  private request<R extends Rpc>(host: string, rpc: R, body: RpcRequest<R>, o: { target: string; timeoutMs: number; id?: string }): Promise<RpcReply<R>> {
    return new Promise((resolve, reject) => {
      const off = this.o.directory.onHostDown(host, () => reject(new HostGoneError(host)));
      call(this.o.transport, subjects.host(host), rpc, body, { from: this.o.hostId, now: this.o.clock.now(), ...o })
        .then(resolve, reject)
        .finally(off);
    });
  }

  /**
   * Runs a command on the agent's activation wherever it lives (activating
   * it if it lives nowhere): locally, or forwarded as `rpc` with `body` and
   * the placement's epoch. Stale routes are retried like sends.
   */
  async command<R extends Rpc, T>(id: AgentId, rpc: R, body: Omit<RpcRequest<R>, "epoch">, local: (epoch: number) => Promise<T>, fromReply: (reply: RpcReply<R>) => T): Promise<T> {
    const giveUpAt = this.o.clock.now() + this.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      const placement = await this.o.directory.lookup(id, true);
      if (!placement) throw new NotFoundError(`agent ${id} does not exist`);
      try {
        if (placement.host === this.o.hostId) return await local(placement.epoch);
        const reply = await this.request(placement.host, rpc, { ...body, epoch: placement.epoch } as RpcRequest<R>, { target: id, timeoutMs: COMMAND_TIMEOUT_MS });
        return fromReply(reply);
      } catch (e) {
        if (!shouldReroute(e) || this.o.clock.now() >= giveUpAt) throw e;
        this.o.directory.invalidate(id, placement.epoch);
        await backoff(attempt);
      }
    }
  }

  /** The agent's live state from the host it is active on, or null if it is active nowhere reachable. */
  liveView(id: AgentId, at?: Placement): Promise<AgentView | null> {
    return this.liveRead(id, () => this.o.local.view(id), hostRpcs.view, {}, (reply) => reply.view, at);
  }

  /** A page of the agent's live conversation from the host it is active on, or null if it is active nowhere reachable. */
  liveMessages(id: AgentId, cursor: number, limit: number): Promise<MessagePage | null> {
    return this.liveRead(id, () => this.o.local.messages(id, cursor, limit), hostRpcs.messages, { page: { cursor, limit } }, (reply) => reply.page);
  }

  /**
   * A read of the live activation (never activates): here, or `rpc` to its
   * owner. `at`: the placement to read from, when the caller knows it (e.g.
   * read before a delete removed it).
   */
  private async liveRead<R extends Rpc, T>(id: AgentId, local: () => T | null, rpc: R, body: RpcRequest<R>, fromReply: (reply: RpcReply<R>) => T, at?: Placement): Promise<T | null> {
    const here = local();
    if (here) return here;
    const placement = at ?? (await this.o.directory.lookup(id, false).catch(() => null));
    if (!placement || placement.host === this.o.hostId) return null;
    try {
      return fromReply(await this.request(placement.host, rpc, body, { target: id, timeoutMs: GET_TIMEOUT_MS }));
    } catch (e) {
      if (shouldReroute(e)) {
        this.o.directory.invalidate(id, placement.epoch);
        return null;
      }
      throw e;
    }
  }

  /** Asks another host `rpc` directly (not about an agent): a stale route is the caller's to handle. */
  ask<R extends Rpc>(host: string, rpc: R, body: RpcRequest<R>, timeoutMs: number): Promise<RpcReply<R>> {
    return call(this.o.transport, subjects.host(host), rpc, body, { from: this.o.hostId, timeoutMs, now: this.o.clock.now() });
  }

  /** Tells the agent's host (if any) to drop its activation without writing; used after a delete. */
  async evict(id: AgentId, host: string): Promise<void> {
    if (host === this.o.hostId) return this.o.local.evict(id);
    await call(this.o.transport, subjects.host(host), hostRpcs.evict, {}, { from: this.o.hostId, target: id, timeoutMs: GET_TIMEOUT_MS, now: this.o.clock.now() }).catch(() => undefined);
  }
}

/** The directory declared the host gone while a request to it was in flight: look the agent up again. */
class HostGoneError extends ColonyError {
  constructor(host: string) {
    super("no_responders", "reroute", `host ${host} was declared gone by the directory`, { details: { host } });
  }
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.min(200, 10 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((r) => setTimeout(r, ms));
}
