import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tests import the @colony/* packages' TypeScript sources, not their compiled
  // dist: the "colony-source" condition of their package.json exports.
  ssr: { resolve: { conditions: ["colony-source", ...defaultServerConditions] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    // Compiles packages/*/dist when the sources are newer: the processes the tests start run it.
    globalSetup: ["test/harness/build-dist.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Every test must end its timers and connections: a hang here is a leak.
    teardownTimeout: 10_000,
  },
});
