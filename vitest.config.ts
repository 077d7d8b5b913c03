import { configDefaults, defineConfig } from "vitest/config";

/*
 * Tests that measure time on real sockets (a ping's latency while other connections inflate
 * bombs, timeouts) run after the rest, one file at a time: on a 2-core machine the other test
 * files' workers would otherwise take the CPU they measure.
 */
const timing = ["test/node/fairness.test.ts", "test/node/limits.test.ts", "test/node/stop-reading.test.ts", "test/node/watchdog-sweep.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      {
        extends: true,
        test: { name: "main", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, ...timing], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: "timing", include: timing, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
