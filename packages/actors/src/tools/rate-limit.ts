import type { Clock } from "../clock.ts";

/** Calls a tool accepts per minute: per agent, and per host across all its agents. */
export interface ToolRateLimit {
  perAgentPerMinute?: number;
  perHostPerMinute?: number;
}

const WINDOW_MS = 60_000;
/** Keys remembered before expired windows are swept. */
const SWEEP_AT = 10_000;

/** Fixed one-minute windows per key: cheap, and exact enough to stop a runaway agent. */
export class WindowCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly clock: Clock,
  ) {}

  /** Counts one call for `key`; false (and nothing counted) if the window is full. */
  take(key: string): boolean {
    const now = this.clock.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= WINDOW_MS) {
      if (this.windows.size >= SWEEP_AT) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= this.limit) return false;
    w.count++;
    return true;
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= WINDOW_MS) this.windows.delete(k);
  }
}
