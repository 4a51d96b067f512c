import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Suites that need system packages (Prometheus, Chromium) are run by .ci/run separately.
    exclude: ["node_modules/**", "dist/**", "test/system/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default is cores - 1, i.e. ONE fork on a 2-core CI machine. Many suites wait on
    // sockets and child processes (workerd, Deno, s3rver), so 2 forks on 2 cores roughly halve the
    // run (measured 200-270 s -> ~115 s under load average ~9); on bigger machines keep the default.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
