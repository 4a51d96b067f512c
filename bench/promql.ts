/**
 * PromQL range-query throughput over in-memory data: `npm run bench -- promql [--series N]
 * [--hours H] [--step SECONDS] [--only NAME]`. Default: 10,000 counter series `x` (plus 10,000
 * `x_bucket` series: 1,000 classic histograms × 10 buckets) with one sample every 15 s over one
 * day; each query runs over the whole day at a 60 s step. Prints wall and CPU time, input
 * samples/s (by wall time) and peak RSS per query.
 */
import process from "node:process";
import { labelsFromRecord } from "../src/model/labels.ts";
import type { FloatSeries } from "../src/model/series.ts";
import { createEngine } from "../src/promql/engine.ts";
import { createMemoryQueryable } from "../src/promql/memory-storage.ts";
import { numberFlag } from "./flags.ts";
import { report, withPeakRss } from "./report.ts";

/** Deterministic pseudo-random increments so counters look real but runs are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function buildData(nSeries: number, hours: number): { series: FloatSeries[]; samples: number; end: number } {
  const interval = 15_000;
  const n = Math.floor((hours * 3_600_000) / interval) + 1;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = i * interval;
  const series: FloatSeries[] = [];
  const r = rng(42);
  for (let k = 0; k < nSeries; k++) {
    const v = new Float64Array(n);
    let c = 0;
    for (let i = 0; i < n; i++) {
      c += Math.floor(r() * 10);
      v[i] = c;
    }
    series.push({ labels: labelsFromRecord({ __name__: "x", job: `job-${k % 10}`, instance: `i-${k}` }), t, v });
  }
  const les = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "2.5", "5", "10", "+Inf"];
  const hist = Math.floor(nSeries / les.length);
  for (let h = 0; h < hist; h++) {
    const incs = les.map(() => 0);
    const vs = les.map(() => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      let cum = 0;
      for (let b = 0; b < les.length; b++) {
        cum += Math.floor(r() * 4);
        incs[b]! += cum;
        vs[b]![i] = incs[b]!;
      }
    }
    les.forEach((le, b) => {
      series.push({ labels: labelsFromRecord({ __name__: "x_bucket", job: `job-${h % 10}`, instance: `h-${h}`, le }), t, v: vs[b]! });
    });
  }
  return { series, samples: series.length * n, end: t[n - 1]! };
}

/** Benchmark entry. */
export default async function (args: string[]): Promise<void> {
  const nSeries = numberFlag(args, "series", 10_000);
  const hours = numberFlag(args, "hours", 24);
  const step = numberFlag(args, "step", 60) * 1000;
  const oi = args.indexOf("--only");
  const only = oi >= 0 ? args[oi + 1] : undefined;
  const built = Date.now();
  const { series, end } = buildData(nSeries, hours);
  report("promql_data_build", (Date.now() - built) / 1000, "s");
  const perSeries = series[0]!.t.length;
  const q = createMemoryQueryable(series);
  const engine = createEngine({ maxSamples: 1e9, timeout: 600_000 });
  const queries: [string, string, number][] = [
    ["rate", "rate(x[5m])", nSeries],
    ["sum_rate", "sum by (job) (rate(x[5m]))", nSeries],
    ["histogram_quantile", "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", Math.floor(nSeries / 10) * 10],
    ["subquery", "max_over_time(rate(x[5m])[1h:1m])", nSeries],
  ];
  for (const [name, expr, inputSeries] of queries) {
    if (only && only !== name) continue;
    (globalThis as { gc?: () => void }).gc?.();
    const start = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const { result, peakRss } = await withPeakRss(() => engine.rangeQuery(q, expr, 0, end, step));
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuSecs = (cpu.user + cpu.system) / 1e6;
    const outSeries = result.value.type === "matrix" ? result.value.series.length : 0;
    const inputSamples = inputSeries * perSeries;
    report(`promql_${name}_wall`, secs, "s");
    // CPU time is less sensitive than wall time to other processes on a shared machine.
    report(`promql_${name}_cpu`, cpuSecs, "s");
    report(`promql_${name}_samples_per_sec`, Math.round(inputSamples / secs), "samples/s");
    report(`promql_${name}_peak_rss`, Math.round(peakRss / 1048576), "MiB");
    report(`promql_${name}_output_series`, outSeries, "series");
  }
}
