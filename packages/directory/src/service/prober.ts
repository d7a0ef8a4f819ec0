import type { Clock, Transport } from "@colony/actors";
import { NoRespondersError, call, subjects } from "@colony/actors";
import type { Heartbeat } from "../membership/host-info.ts";
import type { Member } from "../membership/membership-table.ts";
import { directoryToHostRpcs } from "./protocol.ts";

/** What a probe reports back to the directory. */
export interface ProberOptions {
  id: string;
  transport: Transport;
  clock: Clock;
  heartbeatMs: number;
  /** True once the directory stopped: no new probes. */
  stopped: () => boolean;
  /** The host answered with its heartbeat. */
  answered: (hb: Heartbeat) => void;
  /** Nobody listens on the host's subject any more: its process is gone. */
  gone: (m: Member) => void;
}

/**
 * Asks silent hosts whether their process is still there. "No responders"
 * means a host's NATS connection is gone: a crash, dead now. An answer (its
 * heartbeat) clears the suspicion; a timeout leaves it suspected.
 */
export class Prober {
  /** Hosts with a liveness probe in flight. */
  private readonly probing = new Set<string>();

  constructor(private readonly o: ProberOptions) {}

  /** Probes `m` unless a probe of it is already in flight. */
  probe(m: Member): void {
    if (this.probing.has(m.id) || this.o.stopped()) return;
    this.probing.add(m.id);
    const timeout = 2 * this.o.heartbeatMs;
    call(this.o.transport, subjects.host(m.id), directoryToHostRpcs.ping, {}, { from: this.o.id, timeoutMs: timeout, now: this.o.clock.now() })
      .then(
        (hb) => {
          if (hb.id === m.id) this.o.answered(hb);
        },
        (e) => {
          if (e instanceof NoRespondersError) this.o.gone(m);
        },
      )
      .finally(() => this.probing.delete(m.id));
  }
}
