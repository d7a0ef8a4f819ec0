import { ColonyError, RemoteError } from "@colony/actors";
import type { Placement } from "../registry/registry.ts";
import type { LookupManyResult } from "../service/protocol.ts";
import { MAX_LOOKUP_BATCH, directoryRpcs } from "../service/protocol.ts";

/** After a directory answered that it does not know `lookupMany` (an older replica), single lookups only for this long. */
export const BATCH_FALLBACK_MS = 30_000;

export interface LookupBatcherOptions {
  /** One lookup, as its own request (`directoryRpcs.lookup`). */
  single(agent: string, place: boolean): Promise<Placement | null>;
  /** Several lookups as one request (`directoryRpcs.lookupMany`): one result per lookup, in order. */
  many(lookups: { agent: string; place: boolean }[]): Promise<LookupManyResult[]>;
  now(): number;
}

interface Waiting {
  /** Whether any caller asked to place the agent (the others accept a placement made meanwhile). */
  place: boolean;
  callers: { resolve(p: Placement | null): void; reject(e: unknown): void }[];
}

/**
 * Coalesces a host's directory lookups: those made in one event-loop turn
 * (a supervisor's delegations, a failover's re-routes) go as one
 * `lookupMany` (one per agent, however many callers ask for it). A failed
 * batch fails each of its callers with its error; a directory without
 * `lookupMany` gets single lookups instead. Batches do not wait for each
 * other: a batch stuck on a frozen directory replica holds only its own
 * lookups, as a single lookup did, and the next turn's go to any replica.
 */
export class LookupBatcher {
  private waiting = new Map<string, Waiting>();
  private scheduled = false;
  private singlesUntil = 0;

  constructor(private readonly o: LookupBatcherOptions) {}

  lookup(agent: string, place: boolean): Promise<Placement | null> {
    if (this.o.now() < this.singlesUntil) return this.o.single(agent, place);
    return new Promise((resolve, reject) => {
      const w = this.waiting.get(agent);
      if (w) {
        w.place ||= place;
        w.callers.push({ resolve, reject });
      } else {
        this.waiting.set(agent, { place, callers: [{ resolve, reject }] });
      }
      this.schedule();
    });
  }

  /** Sends what waits after the current turn's lookups are all in (setImmediate: after the turn's I/O callbacks too). */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.waiting.size > 0) {
      const batch = [...this.waiting].slice(0, MAX_LOOKUP_BATCH);
      for (const [agent] of batch) this.waiting.delete(agent);
      void this.send(batch);
    }
  }

  private async send(batch: [string, Waiting][]): Promise<void> {
    if (batch.length === 1) return settle(batch[0]![1], this.o.single(batch[0]![0], batch[0]![1].place));
    let results: LookupManyResult[];
    try {
      results = await this.o.many(batch.map(([agent, w]) => ({ agent, place: w.place })));
      if (results.length !== batch.length) throw new ColonyError("internal", "retryable", `the directory answered ${results.length} lookups for ${batch.length}`);
    } catch (e) {
      if (!isUnknownRpc(e)) return void batch.forEach(([, w]) => fail(w, e));
      this.singlesUntil = this.o.now() + BATCH_FALLBACK_MS;
      await Promise.all(batch.map(([agent, w]) => settle(w, this.o.single(agent, w.place))));
      return;
    }
    results.forEach((r, i) => {
      const w = batch[i]![1];
      if ("error" in r) fail(w, new RemoteError(r.error));
      else for (const c of w.callers) c.resolve(r.placement);
    });
  }
}

/** An older directory's answer to a request kind it does not serve (see rpcHandler). */
function isUnknownRpc(e: unknown): boolean {
  return e instanceof ColonyError && e.code === "not_found" && e.message.includes(`"${directoryRpcs.lookupMany.kind}"`);
}

async function settle(w: Waiting, answer: Promise<Placement | null>): Promise<void> {
  try {
    const p = await answer;
    for (const c of w.callers) c.resolve(p);
  } catch (e) {
    fail(w, e);
  }
}

function fail(w: Waiting, e: unknown): void {
  for (const c of w.callers) c.reject(e);
}
