import type { Logger } from "@colony/actors";
import type { Heartbeat } from "../membership/host-info.ts";

/**
 * Decides which hosts' heartbeats stop counting because the host cannot
 * reach the store (Redis) while this directory can.
 *
 * Such a host's heartbeats prove that its process runs, not that it can
 * serve its agents (every append and commit needs Redis), and without this
 * they would keep its agents there, unanswerable, for as long as the
 * partition lasts. So they stop counting: the host is suspected, then
 * declared dead, and its agents move to hosts that reach the store (the
 * epoch fence keeps the cut host from writing once it is back). Never when
 * this directory cannot reach the store either: that is an outage of Redis
 * itself, which moving agents would not help.
 */
export class StoreCut {
  /** Hosts whose heartbeats say they cannot reach the store while this directory can. */
  private readonly cut = new Set<string>();

  constructor(
    private readonly failureTimeoutMs: number,
    private readonly logger: Logger,
    /** Milliseconds since this directory's own store last answered; unset: never discount a heartbeat. */
    private readonly storeSilentMs?: () => number,
  ) {}

  /** True for a host that has not heard from the store for the failure timeout while this directory has. */
  isCut(hb: Heartbeat): boolean {
    const own = this.storeSilentMs?.();
    const cut = hb.storeSilentMs !== undefined && own !== undefined && hb.storeSilentMs >= this.failureTimeoutMs && own < this.failureTimeoutMs / 2;
    if (cut !== this.cut.has(hb.id)) {
      if (cut) this.cut.add(hb.id);
      else this.cut.delete(hb.id);
      if (cut) this.logger.warn({ host: hb.id, storeSilentMs: hb.storeSilentMs }, "host cannot reach Redis while the directory can: its heartbeats no longer count; its agents fail over");
      else this.logger.info({ host: hb.id }, "host reaches Redis again: its heartbeats count again");
    }
    return cut;
  }
}
