/**
 * The soak's nemesis: one fault at a time, chosen at random from the
 * enabled kinds, each undone before the next (a fault the guarantees cover
 * is "any one host", not several at once), with the cluster given time to
 * heal in between. Every fault is logged with its time, so a violation can
 * be lined up with what happened.
 */
import type { ProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";
import type { Violation } from "./checker.ts";

export const FAULT_KINDS = ["kill", "stop", "term", "nats", "directory", "redis", "natscut"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** What runs when SOAK_FAULTS is unset: every kind the issue names (natscut is extra). */
export const DEFAULT_FAULTS: FaultKind[] = ["kill", "stop", "term", "nats", "directory", "redis"];

export interface NemesisOptions {
  kinds: readonly FaultKind[];
  random: () => number;
  /** The hosts' COLONY_FAILURE_TIMEOUT_MS: a stop lasts longer than this. */
  failureTimeoutMs: number;
  /** The hosts' COLONY_DRAIN_MS: a SIGTERM'd host that is still running well after it hangs. */
  drainMs: number;
  /** How long the cluster may take to list every host again after a fault. */
  healTimeoutMs: number;
  log: (line: string) => void;
}

/** No fault starts later than this before the nemesis's deadline (most take a few seconds to undo). */
const LAST_FAULT_MS = 4_000;

export class Nemesis {
  readonly injected: Partial<Record<FaultKind, number>> = {};
  /** Problems seen while injecting: a host that never rejoined, a SIGTERM that never ended the process. */
  readonly violations: Violation[] = [];
  /** Faults that could not be injected or undone as planned (e.g. a process slow to start on a loaded machine). */
  readonly incidents: string[] = [];

  constructor(
    private readonly c: ProcessCluster,
    private readonly o: NemesisOptions,
  ) {}

  /**
   * Injects faults until `deadline` (a performance.now() time); returns once
   * the last one is undone. No fault starts in the last few seconds, so the
   * run ends close to the deadline.
   */
  async run(deadline: number): Promise<void> {
    for (;;) {
      await this.sleep(Math.min(1_000 + this.o.random() * 2_000, deadline - performance.now()));
      if (deadline - performance.now() < LAST_FAULT_MS) break;
      const kind = this.o.kinds[Math.floor(this.o.random() * this.o.kinds.length)]!;
      this.injected[kind] = (this.injected[kind] ?? 0) + 1;
      try {
        await this.inject(kind);
      } catch (e) {
        // restoreAll() brings back whatever this left down.
        this.incidents.push(`${kind}: ${(e as Error).message.slice(0, 300)}`);
        this.o.log(`fault ${kind} failed: ${(e as Error).message.slice(0, 300)}`);
      }
      await this.heal(kind);
    }
  }

  /** Leaves everything running and connected: the state the checker expects to find. */
  async restoreAll(): Promise<void> {
    const redisProxy = this.c.redisProxy!;
    redisProxy.setCutProbability(0);
    redisProxy.disarmCuts();
    this.c.natsProxy?.resume();
    if (!this.c.nats.running) await this.c.nats.restart();
    for (const [i, d] of this.c.directories.entries()) {
      if (d.child.exitCode !== null || d.child.signalCode !== null) await this.c.restartDirectory(i);
    }
    for (const [id, p] of this.c.hosts) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.signal("SIGCONT");
      else await this.c.restartHost(id);
    }
    await this.heal("restore");
  }

  private async inject(kind: FaultKind): Promise<void> {
    const host = this.pickHost();
    this.o.log(`fault ${kind}${["kill", "stop", "term"].includes(kind) ? ` ${host}` : ""}`);
    switch (kind) {
      case "kill": {
        await this.c.kill(host);
        await this.sleep(this.o.random() * 1_000);
        await this.c.restartHost(host);
        return;
      }
      case "stop": {
        const p = this.c.hosts.get(host)!;
        p.signal("SIGSTOP");
        await this.sleep(this.o.failureTimeoutMs + 500 + this.o.random() * 1_000);
        p.signal("SIGCONT");
        return;
      }
      case "term":
        return this.term(host);
      case "nats": {
        await this.c.nats.kill();
        await this.sleep(this.o.random() * 1_000);
        await this.c.nats.restart();
        return;
      }
      case "directory": {
        const d = this.c.directories[0]!;
        d.signal("SIGKILL");
        await d.exited;
        await this.sleep(this.o.random() * 1_000);
        await this.c.restartDirectory(0);
        return;
      }
      case "redis":
        return this.cutRedis();
      case "natscut":
        this.c.natsProxy!.cutAll();
        return;
    }
  }

  /** SIGTERM drains the host; a process still running long after its drain deadline is a hang (then killed). */
  private async term(host: string): Promise<void> {
    const p = this.c.hosts.get(host)!;
    p.signal("SIGTERM");
    // Generous: a loaded machine is slow to exit too; a hang is a process that never ends.
    const limit = this.o.drainMs + 15_000;
    const ended = await Promise.race([p.exited.then(() => true), this.sleep(limit).then(() => false)]);
    if (!ended) {
      this.violations.push({ kind: "term_hang", agent: "-", detail: `${host} still running ${limit} ms after SIGTERM` });
      this.o.log(`${host} hangs after SIGTERM: SIGKILL`);
    }
    await this.c.restartHost(host);
  }

  /** One of: every Redis connection cut at once, the next few requests' replies lost, or a burst of random cuts. */
  private async cutRedis(): Promise<void> {
    const proxy = this.c.redisProxy!;
    const how = Math.floor(this.o.random() * 3);
    if (how === 0) {
      this.o.log(`  cut all ${proxy.cutAll()} redis connections`);
    } else if (how === 1) {
      const cuts = 1 + Math.floor(this.o.random() * 5);
      for (let i = 0; i < cuts; i++) void proxy.cutNextAfterRequest();
      this.o.log(`  lose the replies of the next ${cuts} redis requests`);
      await this.sleep(2_000);
      proxy.disarmCuts();
    } else {
      this.o.log(`  random redis cuts (1 in 100 requests) for 3 s`);
      proxy.setCutProbability(0.01);
      await this.sleep(3_000);
      proxy.setCutProbability(0);
    }
  }

  /** Waits for every host to be listed alive again; a cluster that does not heal is a violation. */
  private async heal(after: string): Promise<void> {
    const ids = [...this.c.hosts.keys()];
    try {
      await this.c.waitForMembers(ids, this.o.healTimeoutMs);
    } catch (e) {
      this.violations.push({ kind: "heal_timeout", agent: "-", detail: `after ${after}: ${(e as Error).message.slice(0, 300)}` });
      this.o.log(`the cluster did not heal after ${after}`);
    }
  }

  private pickHost(): string {
    const ids = [...this.c.hosts.keys()];
    return ids[Math.floor(this.o.random() * ids.length)]!;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }
}
