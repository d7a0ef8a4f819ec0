// Preloaded (node --import) into a process whose cost a test measures: at exit
// it writes its CPU time (user + system, all threads, from process.cpuUsage)
// to stderr as a last line `cpu-usage-us <microseconds>`. On a machine shared
// by many test runs, wall time mostly measures the scheduler; CPU time
// measures the process.
import { writeSync } from "node:fs";

process.on("exit", () => {
  const { user, system } = process.cpuUsage();
  writeSync(2, `\ncpu-usage-us ${user + system}\n`);
});
