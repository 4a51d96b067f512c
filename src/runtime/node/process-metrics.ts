/**
 * Process metrics for Node components, named as Prometheus client libraries name them
 * (`process_resident_memory_bytes`, `process_cpu_seconds_total`, ...), sampled on every scrape
 * through the registry's collect hook. Kept out of the core registry, which must stay
 * runtime-neutral.
 */
import process from "node:process";
import type { MetricsRegistry } from "../../server/metrics.ts";

/** Registers process and Node heap gauges on `registry`. Idempotent per registry. */
export function registerProcessMetrics(registry: MetricsRegistry): void {
  const rss = registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  const cpu = registry.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  let cpuReported = 0;
  const start = registry.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
  const heapUsed = registry.gauge("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.");
  const heapTotal = registry.gauge("nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.");
  const external = registry.gauge("nodejs_external_memory_bytes", "Node.js external memory size in bytes (includes WebAssembly memory and buffers).");
  const startSeconds = Math.round((Date.now() - process.uptime() * 1000) / 10) / 100;
  registry.onCollect(() => {
    const mem = process.memoryUsage();
    rss.set(mem.rss);
    heapUsed.set(mem.heapUsed);
    heapTotal.set(mem.heapTotal);
    external.set(mem.external);
    const usage = process.cpuUsage();
    // A counter (as client libraries type it): add what accrued since the last scrape.
    const total = (usage.user + usage.system) / 1e6;
    if (total > cpuReported) { cpu.inc(undefined, total - cpuReported); cpuReported = total; }
    start.set(startSeconds);
  });
}
