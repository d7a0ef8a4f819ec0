import type { Logger, Transport } from "@colony/actors";
import { errorMessage, newMessageId, subjects } from "@colony/actors";
import type { Heartbeat } from "@colony/directory";

export interface HeartbeatOptions {
  transport: Transport;
  logger: Logger;
  intervalMs: number;
  /**
   * Past this silence the directory declares a host dead. If this process
   * itself was frozen that long (SIGSTOP, a stalled event loop), `onStall`
   * runs before anything else: the host must assume its agents moved.
   */
  failureTimeoutMs: number;
  onStall?: (stalledMs: number) => void;
  /** The host's current self-description. */
  describe: () => Heartbeat;
}

/**
 * Publishes the host's heartbeat every intervalMs on `colony.hb.<id>` (every
 * directory replica hears it) and notices when the process was frozen.
 * Runs on the wall clock: liveness is about real time.
 */
export class HeartbeatLoop {
  private timer: NodeJS.Timeout | undefined;
  private last = Date.now();

  constructor(private readonly o: HeartbeatOptions) {}

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.tick(), this.o.intervalMs);
  }

  /** Sends a heartbeat now (e.g. the moment draining starts). */
  beat(extra: Partial<Heartbeat> = {}): void {
    try {
      const hb = { ...this.o.describe(), ...extra };
      this.o.transport.publish(subjects.heartbeat(hb.id), { id: newMessageId(), kind: "host.heartbeat", from: hb.id, deadline: Date.now() + this.o.failureTimeoutMs, body: hb });
    } catch (e) {
      this.o.logger.warn({ err: errorMessage(e) }, "heartbeat not sent");
    }
  }

  private tick(): void {
    const now = Date.now();
    const gap = now - this.last;
    this.last = now;
    if (gap > this.o.failureTimeoutMs) {
      this.o.logger.warn({ stalledMs: gap }, "this process was frozen past the failure timeout; dropping its activations");
      this.o.onStall?.(gap);
    }
    this.beat();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * The last heartbeat, saying this incarnation leaves: every directory
   * replica hears it (a leave request reaches only one of them), so none of
   * them takes the silence that follows for a death.
   */
  farewell(): void {
    this.stop();
    this.beat({ leaving: true, agents: 0, load: 0 });
  }
}
