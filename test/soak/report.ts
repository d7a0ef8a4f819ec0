/** The soak's figures, computed from the clients' bookkeeping, and their printout. */
import type { FaultProxyStats } from "../harness/fault-proxy.ts";
import type { Violation } from "./checker.ts";
import { countByKind } from "./checker.ts";
import type { ClientMessage, SoakClients } from "./clients.ts";
import type { Nemesis } from "./nemesis.ts";
import type { SoakOptions } from "./soak.ts";

interface Window {
  from: number;
  to: number;
}

export interface SoakReport {
  seed: number;
  seconds: number;
  faults: string[];
  agents: number;
  acked: number;
  unknown: number;
  retries: number;
  failedAttempts: Record<string, number>;
  failedTurns: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** The longest a message waited between its first send and its acknowledgement (or giving up) when it needed retries. */
  maxUnavailableMs: number;
  maxUnavailableAgent: string | null;
  injected: Record<string, number>;
  redisCuts: FaultProxyStats["cuts"];
  phases: { faultFree?: Window; redisCuts?: Window & { cuts: number }; nemesis?: Window };
  /** Acknowledged messages per second, fault-free and under random Redis cuts; ratio = faultFree / redisCuts (the issue asks ≤ 2). */
  throughput?: { faultFree: number; redisCuts: number; ratio: number };
  /** Faults that could not be injected or undone as planned (not violations). */
  incidents: string[];
  violations: Violation[];
  violationsByKind: Record<string, number>;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function rate(messages: readonly ClientMessage[], w: Window): number {
  const n = messages.filter((m) => m.outcome === "acked" && m.endedAt >= w.from && m.endedAt <= w.to).length;
  return n / ((w.to - w.from) / 1000);
}

export function figures(r: {
  options: SoakOptions;
  clients: SoakClients;
  nemesis: Nemesis;
  phases: SoakReport["phases"];
  violations: Violation[];
  proxy: FaultProxyStats;
}): SoakReport {
  const all = [...r.clients.sent.values()].flat();
  const acked = all.filter((m) => m.outcome === "acked");
  const latencies = acked.map((m) => m.endedAt - m.firstSentAt).sort((a, b) => a - b);
  let maxUnavailableMs = 0;
  let maxUnavailableAgent: string | null = null;
  for (const m of all) {
    if (m.attempts < 2 && m.outcome === "acked") continue;
    const ms = m.endedAt - m.firstSentAt;
    if (ms > maxUnavailableMs) [maxUnavailableMs, maxUnavailableAgent] = [ms, m.agent];
  }
  const report: SoakReport = {
    seed: r.options.seed,
    seconds: r.options.seconds,
    faults: r.options.faults,
    agents: r.clients.sent.size,
    acked: acked.length,
    unknown: all.length - acked.length,
    retries: r.clients.retries,
    failedAttempts: r.clients.failures,
    failedTurns: r.clients.failedTurns,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? 0 },
    maxUnavailableMs,
    maxUnavailableAgent,
    injected: { ...r.nemesis.injected },
    redisCuts: r.proxy.cuts,
    phases: r.phases,
    incidents: r.nemesis.incidents,
    violations: r.violations,
    violationsByKind: countByKind(r.violations),
  };
  const { faultFree, redisCuts } = r.phases;
  if (faultFree && redisCuts) {
    const a = rate(all, faultFree);
    const b = rate(all, redisCuts);
    report.throughput = { faultFree: a, redisCuts: b, ratio: b > 0 ? a / b : Infinity };
  }
  return report;
}

/** The report as lines for people; at most `examples` violations shown per kind. */
export function formatReport(r: SoakReport, examples = 3): string {
  const ms = (n: number) => `${Math.round(n)} ms`;
  const lines = [
    `soak ${r.seconds} s, seed ${r.seed}, faults ${r.faults.join(",") || "none"}`,
    `  messages acknowledged ${r.acked}, unknown ${r.unknown}, agents ${r.agents}, retries ${r.retries}, failed turns ${r.failedTurns}`,
    `  failed attempts ${JSON.stringify(r.failedAttempts)}`,
    `  latency (first send to acknowledgement) p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)}`,
    `  longest an agent was unavailable ${ms(r.maxUnavailableMs)}${r.maxUnavailableAgent ? ` (${r.maxUnavailableAgent})` : ""}`,
    `  faults injected ${JSON.stringify(r.injected)}; redis connections cut ${JSON.stringify(r.redisCuts)}`,
  ];
  if (r.throughput) {
    const t = r.throughput;
    lines.push(`  throughput fault-free ${t.faultFree.toFixed(1)}/s, under random redis cuts ${t.redisCuts.toFixed(1)}/s (${r.phases.redisCuts?.cuts ?? 0} cuts): ratio ${t.ratio.toFixed(2)} (must be ≤ 2)`);
  }
  for (const i of r.incidents) lines.push(`  incident: ${i}`);
  lines.push(`  violations ${r.violations.length}${r.violations.length ? ` ${JSON.stringify(r.violationsByKind)}` : ""}`);
  for (const kind of Object.keys(r.violationsByKind)) {
    for (const v of r.violations.filter((x) => x.kind === kind).slice(0, examples)) lines.push(`    ${v.kind} ${v.agent}: ${v.detail}`);
  }
  return lines.join("\n");
}
