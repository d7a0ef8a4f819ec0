import type { Clock, Rpc, RpcReply, RpcRequest, Subscription, Transport } from "@colony/actors";
import { call, subjects } from "@colony/actors";
import type { Placement } from "../registry/registry.ts";
import type { HostsReply } from "../service/protocol.ts";
import { MEMBERSHIP_SUBJECT, directoryRpcs, membershipEventSchema } from "../service/protocol.ts";
import { LookupBatcher } from "./lookup-batcher.ts";

/** How long one directory request may take before it is retried. */
export const DIRECTORY_REQUEST_TIMEOUT_MS = 2_000;
/** Placements remembered by a host; the oldest are dropped past this. */
export const DEFAULT_CACHE_SIZE = 100_000;

export type LookupResult = "hit" | "miss" | "error";

export interface DirectoryClientOptions {
  hostId: string;
  transport: Transport;
  clock: Clock;
  cacheSize?: number;
  /** Counts lookups by result (colony_directory_lookups_total). */
  onLookup?: (result: LookupResult) => void;
}

/**
 * A host's view of the directory: cached lookups (a stale entry is dropped
 * when the host it names answers "not here") and the few calls a host makes.
 */
export class DirectoryClient {
  private readonly cache = new Map<string, Placement>();
  private readonly cacheSize: number;
  /** Who waits on a request in flight to a host, to give up on it the moment the host is declared gone. */
  private readonly downListeners = new Map<string, Set<() => void>>();
  /** Cache misses of one event-loop turn go to the directory as one request. */
  private readonly batcher: LookupBatcher;

  constructor(private readonly o: DirectoryClientOptions) {
    this.cacheSize = o.cacheSize ?? DEFAULT_CACHE_SIZE;
    this.batcher = new LookupBatcher({
      single: async (agent, place) => (await this.request(directoryRpcs.lookup, { agent, place, requester: o.hostId }, agent)).placement,
      many: async (lookups) => (await this.request(directoryRpcs.lookupMany, { lookups, requester: o.hostId })).results,
      now: () => o.clock.now(),
    });
  }

  /** Where the agent lives; with `place`, places it if it lives nowhere. Null: it exists nowhere (not placed, or not at all). */
  async lookup(agent: string, place: boolean): Promise<Placement | null> {
    const cached = this.cache.get(agent);
    if (cached) {
      this.o.onLookup?.("hit");
      return cached;
    }
    let placement;
    try {
      placement = await this.batcher.lookup(agent, place);
    } catch (e) {
      this.o.onLookup?.("error");
      throw e;
    }
    this.o.onLookup?.("miss");
    if (placement) this.remember(placement);
    return placement;
  }

  /** Drops a cached placement, if it is (still) this one. */
  invalidate(agent: string, epoch?: number): void {
    const cached = this.cache.get(agent);
    if (cached && (epoch === undefined || cached.epoch <= epoch)) this.cache.delete(agent);
  }

  /** Records a placement learnt elsewhere (e.g. the activation this host just started). */
  remember(p: Placement): void {
    const prior = this.cache.get(p.agent);
    if (prior && prior.epoch > p.epoch) return;
    this.cache.delete(p.agent);
    this.cache.set(p.agent, p);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  /**
   * Listens to the directory's announcements of hosts gone (dead, left,
   * restarted): routes cached to them are dropped and requests in flight to
   * them given up at once, instead of each waiting out a forward timeout.
   */
  watchMembership(): Subscription {
    return this.o.transport.subscribe(MEMBERSHIP_SUBJECT, (env) => {
      const event = membershipEventSchema.safeParse(env.body);
      if (event.success) for (const host of event.data.down) this.hostDown(host);
    });
  }

  /** Forgets every route to `host` and wakes whoever waits on it. */
  hostDown(host: string): void {
    for (const [agent, p] of this.cache) if (p.host === host) this.cache.delete(agent);
    const listeners = this.downListeners.get(host);
    if (!listeners) return;
    this.downListeners.delete(host);
    for (const fn of listeners) fn();
  }

  /** Calls `fn` once if `host` is announced gone before the returned function is called. */
  onHostDown(host: string, fn: () => void): () => void {
    let set = this.downListeners.get(host);
    if (!set) this.downListeners.set(host, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.downListeners.get(host) === set) this.downListeners.delete(host);
    };
  }

  async release(agent: string, epoch: number, reactivate: boolean): Promise<{ released: boolean; placement: Placement | null }> {
    this.invalidate(agent, epoch);
    return this.request(directoryRpcs.release, { agent, host: this.o.hostId, epoch, reactivate }, agent);
  }

  async drain(): Promise<void> {
    await this.request(directoryRpcs.drain, { host: this.o.hostId });
  }

  async leave(): Promise<void> {
    await this.request(directoryRpcs.leave, { host: this.o.hostId });
  }

  hosts(): Promise<HostsReply> {
    return this.request(directoryRpcs.hosts, {});
  }

  private request<R extends Rpc>(rpc: R, body: RpcRequest<R>, target?: string): Promise<RpcReply<R>> {
    return call(this.o.transport, subjects.directory, rpc, body, {
      from: this.o.hostId,
      timeoutMs: DIRECTORY_REQUEST_TIMEOUT_MS,
      now: this.o.clock.now(),
      ...(target ? { target } : {}),
    });
  }
}

