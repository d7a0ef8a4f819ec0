import type { Counter } from "prom-client";

/**
 * Increments of a counter with one or two labels, kept as plain numbers and
 * added to the prom-client counter when it is read (from its `collect`):
 * prom-client builds and looks up a string key for the label values on every
 * `inc`, a cost the message path paid twice a message. Bounded like the
 * counter itself: one number per label set.
 */
export class DeferredCounts<L extends string> {
  private readonly pending = new Map<string, Map<string, number>>();

  constructor(private readonly names: readonly [L] | readonly [L, L]) {}

  add(first: string, second = "", n = 1): void {
    let inner = this.pending.get(first);
    if (!inner) this.pending.set(first, (inner = new Map()));
    inner.set(second, (inner.get(second) ?? 0) + n);
  }

  /** Adds what was counted since the last flush to `counter`. */
  flushInto(counter: Counter<L>): void {
    const [a, b] = this.names;
    for (const [first, inner] of this.pending) {
      for (const [second, n] of inner) {
        if (n === 0) continue;
        const labels: Partial<Record<L, string>> = { [a]: first } as Partial<Record<L, string>>;
        if (b !== undefined) labels[b] = second;
        counter.inc(labels, n);
        inner.set(second, 0);
      }
    }
  }
}
