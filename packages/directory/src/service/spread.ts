import type { HostInfo, MembershipSnapshot } from "../membership/host-info.ts";
import type { MembershipTable } from "../membership/membership-table.ts";

/**
 * The membership a failover places against: the hosts' figures when it
 * began plus what this failover gave each since. Heartbeats arriving
 * meanwhile would count a placement twice (once activated) or not at all
 * (sent before): one fixed base keeps a batch's spread even. Hosts that died
 * meanwhile drop out.
 */
export class Spread {
  private readonly base = new Map<string, HostInfo>();
  private readonly given = new Map<string, number>();

  constructor(private readonly membership: MembershipTable) {
    for (const h of membership.snapshot().hosts) this.base.set(h.id, h);
  }

  /** The snapshot for the next decision: today's eligible hosts, with the figures they had when the failover began. */
  next(): MembershipSnapshot {
    const now = this.membership.snapshot();
    const hosts = now.hosts.map((h) => {
      const from = this.base.get(h.id) ?? h;
      const n = this.given.get(h.id) ?? 0;
      return { ...h, agents: from.agents + n, load: from.load + n };
    });
    return { version: now.version, hosts };
  }

  /** Counts a placement on `host` for the next decisions. */
  chose(host: string): void {
    this.given.set(host, (this.given.get(host) ?? 0) + 1);
  }
}
