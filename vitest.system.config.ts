import { defineConfig } from "vitest/config";

/** Suites that need system packages (Debian's prometheus/promtool, Chromium); .ci/run installs them. */
export default defineConfig({
  test: {
    include: ["test/system/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    fileParallelism: false,
  },
});
