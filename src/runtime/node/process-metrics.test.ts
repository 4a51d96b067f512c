import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { registerProcessMetrics } from "./process-metrics.ts";

describe("registerProcessMetrics", () => {
  it("samples process memory and CPU on every render", () => {
    const r = createMetricsRegistry();
    registerProcessMetrics(r);
    const text = r.render();
    const rss = Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)![1]);
    expect(rss).toBeGreaterThan(1_000_000);
    expect(Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)![1])).toBeGreaterThan(0);
    const startTime = Number(/^process_start_time_seconds (\S+)$/m.exec(text)![1]);
    expect(Math.abs(startTime - Date.now() / 1000)).toBeLessThan(24 * 3600);
    expect(text).toContain("# TYPE nodejs_heap_size_used_bytes gauge");
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
  });
});
