import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Suites that need system packages (Prometheus, Chromium) are run by .ci/run separately.
    exclude: ["node_modules/**", "dist/**", "test/system/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
