/**
 * Wall-clock stages of one message on its way through a process, to find
 * where the milliseconds of a round trip go (`BENCH_TRACE=1 npm run bench`).
 * Off unless COLONY_MESSAGE_TIMING=1: then each mark is one branch on a
 * boolean. A host serving a forwarded message returns its stages in the
 * reply; the host that took the HTTP request answers them all as a
 * `Server-Timing` header.
 */
export type Stages = [stage: string, atMs: number][];

/** Messages whose stages are kept at once; the oldest go first (a diagnostic, never a leak). */
const MAX_TRACKED = 10_000;

class MessageTiming {
  private readonly marks = new Map<string, { t0: number; stages: Stages }>();

  constructor(readonly enabled: boolean) {}

  /** Records that `messageId` reached `stage` now (or at `at`, a `performance.now()` taken before its id was known). */
  mark(messageId: string, stage: string, at?: number): void {
    if (!this.enabled) return;
    const now = at ?? performance.now();
    let m = this.marks.get(messageId);
    if (!m) {
      if (this.marks.size >= MAX_TRACKED) this.marks.delete(this.marks.keys().next().value!);
      m = { t0: now, stages: [] };
      this.marks.set(messageId, m);
    }
    m.stages.push([stage, now - m.t0]);
    if (at !== undefined) m.stages.sort((a, b) => a[1] - b[1]);
  }

  /**
   * Adds another process's stages, each prefixed, between this process's
   * last two marks (the request sent, its reply received). Clocks of two
   * processes do not compare: the remote stages are centred in the gap, as
   * if the way there and the way back took as long.
   */
  adopt(messageId: string, prefix: string, stages: Stages | undefined): void {
    if (!this.enabled || !stages?.length) return;
    const m = this.marks.get(messageId);
    if (!m || m.stages.length < 2) return;
    const [sent, replied] = [m.stages.at(-2)![1], m.stages.at(-1)![1]];
    const span = stages.at(-1)![1] - stages[0]![1];
    const offset = sent + Math.max(0, replied - sent - span) / 2 - stages[0]![1];
    for (const [stage, at] of stages) m.stages.push([`${prefix}${stage}`, at + offset]);
    m.stages.sort((a, b) => a[1] - b[1]);
  }

  /** The message's stages (and forgets them). */
  take(messageId: string): Stages | undefined {
    if (!this.enabled) return undefined;
    const m = this.marks.get(messageId);
    this.marks.delete(messageId);
    return m?.stages;
  }
}

export const messageTiming = new MessageTiming(process.env.COLONY_MESSAGE_TIMING === "1");

/** `Server-Timing` value: each stage with the time since the one before it (the first: 0). */
export function serverTiming(stages: Stages): string {
  return stages.map(([stage, at], i) => `${stage.replace(/[^A-Za-z0-9_.-]/g, "_")};dur=${(i > 0 ? at - stages[i - 1]![1] : 0).toFixed(3)}`).join(", ");
}
