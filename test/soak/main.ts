/**
 * `npm run soak`: the fault-injection soak from the command line. Settings
 * by env: SOAK_S (seconds, default 60), SOAK_FAULTS (default
 * kill,stop,term,nats,directory,redis; natscut is extra; "" for none),
 * SOAK_SEED (replays a nemesis schedule), SOAK_SLOTS (client loops, default
 * 24), SOAK_RUNS (consecutive runs, default 1). Exits 1 on any violation or
 * a throughput under Redis cuts below half the fault-free one.
 */
import { formatReport } from "./report.ts";
import { runSoak, soakOptionsFromEnv } from "./soak.ts";

// Ctrl-C and SIGTERM end the process through exit(), so every exit hook
// (the harness's servers, the soak's colony processes) runs.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));

const runs = Number(process.env.SOAK_RUNS ?? "1");
let failed = 0;
for (let i = 1; i <= runs; i++) {
  const options = soakOptionsFromEnv(process.env, (line) => console.log(line));
  const report = await runSoak(options);
  console.log(`\nrun ${i} of ${runs}\n${formatReport(report)}\n`);
  if (report.violations.length > 0 || (report.throughput && report.throughput.ratio > 2)) failed++;
}
console.log(failed ? `${failed} of ${runs} runs found violations` : `${runs} run(s), zero violations`);
process.exit(failed ? 1 : 0);
