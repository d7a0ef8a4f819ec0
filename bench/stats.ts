/** Latency samples in microseconds → the figures the bench prints. */
export interface Latency {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export function latency(samplesUs: number[]): Latency {
  const s = [...samplesUs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, p50: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Times `fn` once, in microseconds. */
export async function timeUs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1000;
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** One row of the report: a Colony figure next to its raw baseline from the same run. */
export interface Row {
  what: string;
  colony: string;
  baseline: string;
  ratio: string;
}

export function printTable(title: string, rows: Row[]): void {
  const header: Row = { what: "measure", colony: "colony", baseline: "raw baseline", ratio: "ratio" };
  const all = [header, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row) => `| ${r.what.padEnd(w("what"))} | ${r.colony.padStart(w("colony"))} | ${r.baseline.padStart(w("baseline"))} | ${r.ratio.padStart(w("ratio"))} |`;
  console.log(`\n## ${title}`);
  console.log(line(header));
  console.log(`|${"-".repeat(w("what") + 2)}|${"-".repeat(w("colony") + 2)}|${"-".repeat(w("baseline") + 2)}|${"-".repeat(w("ratio") + 2)}|`);
  for (const r of rows) console.log(line(r));
}
