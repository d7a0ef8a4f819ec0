import { z } from "zod";
import type { ColonyMetrics } from "./metrics.ts";

/**
 * A host's running totals, small enough to ask every host for every few
 * seconds: what the console's cluster page turns into rates (per minute, by
 * difference) and turn latency percentiles (from the histogram's buckets).
 */
export const hostStatsSchema = z.object({
  host: z.string(),
  /** When the totals were read, epoch ms (the host's clock). */
  at: z.number(),
  turns: z.object({ completed: z.number(), failed: z.number() }),
  /** Turn durations: cumulative counts per bucket upper bound in seconds ("+Inf" last), over all types. */
  turnSeconds: z.array(z.tuple([z.string(), z.number()])),
  tokens: z.number(),
  costUsd: z.number(),
  failovers: z.number(),
  activeAgents: z.number(),
});
export type HostStats = z.infer<typeof hostStatsSchema>;

type Sample = { value: number; labels: Record<string, string | number | undefined>; metricName?: string };

const sum = (values: readonly Sample[], keep: (s: Sample) => boolean = () => true) => values.filter(keep).reduce((n, s) => n + s.value, 0);

/** The host's totals, read from its own metrics registry. */
export async function hostStats(host: string, metrics: ColonyMetrics, now: number): Promise<HostStats> {
  const messages = (await metrics.messages.get()).values as Sample[];
  const turnValues = (await metrics.turnDuration.get()).values as Sample[];
  const buckets = new Map<string, number>();
  for (const s of turnValues) {
    if (s.metricName !== "colony_turn_duration_seconds_bucket") continue;
    const le = String(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const order = (le: string) => (le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le));
  return {
    host,
    at: now,
    turns: { completed: sum(messages, (s) => s.labels.outcome === "completed"), failed: sum(messages, (s) => s.labels.outcome === "failed") },
    turnSeconds: [...buckets].sort((a, b) => order(a[0]) - order(b[0])),
    tokens: sum((await metrics.llmTokenCounter.get()).values as Sample[]),
    costUsd: sum((await metrics.llmCostCounter.get()).values as Sample[]),
    failovers: sum((await metrics.activations.get()).values as Sample[], (s) => s.labels.reason === "failover"),
    activeAgents: sum((await metrics.agentsActive.get()).values as Sample[]),
  };
}
