import { describe, expect, it } from "vitest";
import { formatReport } from "./report.ts";
import { runSoak, soakOptionsFromEnv } from "./soak.ts";

// A 60 s run in CI (SOAK_S lengthens it; SOAK_FAULTS, SOAK_SEED as for `npm run soak`).
const options = soakOptionsFromEnv(process.env, (line) => console.log(line));

describe("fault-injection soak", () => {
  it(
    `${options.seconds} s of faults (${options.faults.join(",") || "none"}): every acknowledged message stored exactly once, in order, replies consistent`,
    async () => {
      const report = await runSoak(options);
      console.log(formatReport(report, 5));
      expect(report.acked).toBeGreaterThan(0);
      expect(report.violationsByKind).toEqual({});
      if (report.throughput) expect(report.throughput.ratio).toBeLessThanOrEqual(2);
    },
    // Start-up and the final check take ~20 s on a quiet machine; a loaded one needs far more.
    (options.seconds + 150) * 1000,
  );
});
