/**
 * Randomised PromQL compatibility: a seeded generator builds a few hundred expressions (selectors,
 * range functions, *_over_time, math, aggregations with by/without, topk/quantile, binary
 * operators with scalars and one-to-one vector matching, set operators, offsets, subqueries) over
 * the compatibility data, and each is evaluated as an instant and a range query by a real
 * Prometheus 2.42 and by two Meridian queriers: one over a store gateway serving the same block,
 * one over an HA pair of store gateways whose replicas hold the same samples cut into different
 * chunks (so penalty dedup, with counter adjustment for rate & co., runs on every select). Results
 * must have the same status, shape, labels and timestamps, and values equal within 1e-9 relative.
 *
 * Evaluation times are 7 s off the minute grid and the samples 1.234 s off it, and subquery steps
 * are whole minutes, so no sample or subquery point sits on a window boundary: Prometheus 2.x's
 * closed and 3.x's left-open windows select the same points (prometheus-formats.md §10). Values are
 * compared with a tolerance because Prometheus 3 sums with Kahan compensation and 2.42 does not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrng as rng } from "../../src/demo/prng.ts";
import { writeBlock } from "../../src/tsdb/block-writer.ts";
import { COMPAT_T0, makeCompatSeries } from "../helpers/query-compat-data.ts";
import { memoryBucketWith, startTestQuerier, startTestStore, type TestQuerier, type TestStore } from "../helpers/query-stack.ts";
import { startCompatStack, type CompatStack } from "./helpers/compat-stack.ts";
import { findBinary } from "./helpers/promtool.ts";

const havePrometheus = findBinary("prometheus") !== undefined;
const MIN = 60_000;
const AT = COMPAT_T0 + 150 * MIN + 7_000;
// Far enough from the data's start that no counter window (even with offset 1h) contains it:
// 2.42 and 3.x extrapolate the first window of a counter differently.
const START = COMPAT_T0 + 90 * MIN + 7_000;
const END = START + 60 * MIN;
const COUNT = Number(process.env.MERIDIAN_FUZZ_COUNT ?? 250);
const SEED = Number(process.env.MERIDIAN_FUZZ_SEED ?? 5);

let stack: CompatStack | undefined;
/** A querier over an HA pair (replica label `replica`) with the same samples cut into different chunks. */
let ha: TestQuerier | undefined;
const haStores: TestStore[] = [];

beforeAll(async () => {
  if (!havePrometheus) return;
  stack = await startCompatStack("query-fuzz");
  // Different chunk boundaries make the replicas' chunks overlap without being identical, so the
  // querier really splits and penalty-deduplicates them (identical chunks would collapse by hash).
  for (const [replica, chunking] of [["a", {}], ["b", { mode: "fixed" as const, samplesPerChunk: 77 }]] as const) {
    const b = writeBlock(makeCompatSeries(), { chunking, thanos: { labels: { replica }, source: "sidecar" } });
    haStores.push(await startTestStore(await memoryBucketWith(`ha-${replica}`, [b])));
  }
  ha = await startTestQuerier(haStores.map((x) => x.address), { replicaLabels: ["replica"] });
});

afterAll(async () => {
  await ha?.close();
  await Promise.all(haStores.map((x) => x.stop()));
  await stack?.stop();
});

/** A seeded PromQL expression generator over the compatibility data. */
function generator(seed: number): () => string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const counters = ['http_requests_total', 'http_requests_total{code="500"}', 'http_requests_total{job="api"}', 'http_request_duration_seconds_bucket'];
  const gauges = ["node_load1", 'node_load1{instance=~"10.0.0.[12]:9100"}', "compat_tiny", "compat_huge", 'http_requests_total{instance="10.0.0.1:9090"}'];
  const ranges = ["1m", "2m", "5m", "10m"];
  const groupings = ["by (job)", "without (instance)", "by (code)", "", "by (job, code)", "without (code, instance)"];

  const counterFn = (): string => `${pick(["rate", "irate", "increase", "resets", "changes", "delta", "idelta", "deriv"])}(${pick(counters)}[${pick(ranges)}])`;
  const overTime = (): string => {
    const f = pick(["avg", "min", "max", "sum", "count", "last", "stddev", "stdvar", "present"]);
    return `${f}_over_time(${pick([...gauges, ...counters])}[${pick(ranges)}])`;
  };
  const quantileOverTime = (): string => `quantile_over_time(${pick(["0", "0.25", "0.5", "0.9", "1"])}, ${pick(gauges)}[${pick(ranges)}])`;
  const subquery = (): string => `${pick(["max", "min", "avg", "count"])}_over_time(${counterFn()}[${pick(["10m", "30m"])}:${pick(["1m", "2m"])}])`;

  function vector(depth: number): string {
    const leaves = [() => pick(gauges), () => pick(counters), counterFn, overTime, quantileOverTime];
    if (depth <= 0) return pick(leaves)();
    const choice = r();
    if (choice < 0.25) return pick(leaves)();
    if (choice < 0.4) {
      const f = pick(["abs", "ceil", "floor", "round", "sqrt", "exp", "ln", "log2", "log10", "sgn", "timestamp", "-"]);
      // Rounding only raw samples: 2.42 averages without Kahan compensation, and a last-bit
      // difference can cross an integer boundary (ceil(194.00000000001) vs 194).
      if (f === "ceil" || f === "floor" || f === "round") return `${f}(${pick(gauges)})`;
      return f === "-" ? `-(${vector(depth - 1)})` : `${f}(${vector(depth - 1)})`;
    }
    if (choice < 0.55) {
      const agg = pick(["sum", "avg", "min", "max", "count", "stddev", "stdvar", "group"]);
      const g = pick(groupings);
      // stddev/stdvar of a group starting with ±Inf: 0 in 2.42, NaN in Prometheus 3 (Meridian
      // follows 3); clamp keeps infinities out of their input.
      const input = agg === "stddev" || agg === "stdvar" ? `clamp(${vector(depth - 1)}, -1e100, 1e100)` : vector(depth - 1);
      return `${agg} ${g} (${input})`.replace("  ", " ");
    }
    // topk/bottomk only over continuous values: on ties Meridian keeps a different series than
    // 2.42 does (Prometheus 3's heap order; see src/promql/topk-ties.test.ts), and
    // integer-valued inputs tie all the time.
    if (choice < 0.62) return `${pick(["topk", "bottomk"])}(${pick(["1", "2", "3"])}, ${pick(['rate(http_requests_total{code="200"}[5m])', "deriv(node_load1[10m])", "avg_over_time(node_load1[10m]) * 1.5"])})`;
    if (choice < 0.67) return `quantile ${pick(groupings)} (${pick(["0", "0.5", "0.9", "1"])}, ${vector(depth - 1)})`.replace("  ", " ");
    if (choice < 0.8) {
      const op = pick(["+", "-", "*", "/", "%", "^", ">", "<", ">=", "==", "!=", "> bool", "< bool"]);
      const s = pick(["0", "1", "2", "0.5", "1e-3", "100", "-1"]);
      return r() < 0.5 ? `${vector(depth - 1)} ${op} ${s}` : `${s} ${op} ${vector(depth - 1)}`;
    }
    if (choice < 0.88) {
      // One-to-one matching: the same selector on both sides (possibly through different functions).
      const base = pick(counters);
      const op = pick(["+", "-", "*", "/", "and", "or", "unless", ">"]);
      return `${pick(["rate", "irate", "increase"])}(${base}[${pick(ranges)}]) ${op} ${pick(["", "ignoring (code) ", "on (job, instance, code, le) "])}${pick(["rate", "increase", "delta"])}(${base}[${pick(ranges)}])`.replace(" ignoring (code)", ["and", "or", "unless"].includes(op) ? " ignoring (code)" : " ignoring (code)");
    }
    if (choice < 0.93) return subquery();
    if (choice < 0.97) return `${pick(leaves)()} offset ${pick(["1m", "5m", "1h"])}`.replace(/\) offset/, ") offset").replace(/(\w+\([^()]*\[[^\]]+\])\)( offset \S+)/, "$1$2)");
    if (choice < 0.975) return `clamp(${vector(depth - 1)}, ${pick(["-1", "0"])}, ${pick(["1", "100"])})`;
    return pick(extras)();
  }
  // Less frequent shapes: label functions, histogram_quantile, absent, scalar/vector, date
  // functions, predict_linear, many-to-one matching, @ modifiers, count_values.
  const extras: (() => string)[] = [
    () => `label_replace(${pick(gauges)}, "host", "$1", "instance", "([^:]+):.*")`,
    () => `label_join(${pick(counters)}, "id", "-", "job", "code")`,
    () => `histogram_quantile(${pick(["0.1", "0.5", "0.99", "1", "0"])}, ${pick(["", "sum by (le) ", "sum by (le, job) "])}(rate(http_request_duration_seconds_bucket[${pick(ranges)}])))`,
    () => `absent(${pick(["nonexistent", "node_load1", 'node_load1{job="x"}'])})`,
    () => `absent_over_time(${pick(["nonexistent", "node_load1"])}[${pick(ranges)}])`,
    () => `scalar(${pick(["sum(node_load1)", "node_load1", 'node_load1{instance="10.0.0.1:9100"}'])}) * ${pick(gauges)}`,
    () => `vector(${pick(["1", "time()", "scalar(count(node_load1))"])}) ${pick(["+", "*", "-"])} ${pick(["1", "2"])}`,
    () => `${pick(["minute", "hour", "day_of_week", "day_of_month", "month", "year", "days_in_month"])}(${pick(["", "timestamp(node_load1)"])})`,
    () => `predict_linear(${pick(gauges)}[${pick(ranges)}], ${pick(["60", "3600", "-300"])})`,
    () => `sum by (job, instance) (rate(http_requests_total[5m])) / on (job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))`,
    () => `rate(http_requests_total[5m]) / on (job, instance) group_left ${pick(["", "(code) "])}sum by (job, instance) (rate(http_requests_total[5m]))`,
    () => `${pick(gauges)} @ ${pick(["start()", "end()", String((COMPAT_T0 + 100 * MIN + 3_000) / 1000)])}`,
    () => `count_values("value", round(${pick(gauges)}))`,
    () => `sort_desc(${vector(0)})`,
    () => `${pick(gauges)} ${pick(["and", "or", "unless"])} ${pick(gauges)}`,
    () => `changes(${pick(gauges)}[${pick(ranges)}])`,
    () => `${pick(["sum", "max"])}_over_time((${pick(gauges)} > ${pick(["0", "1"])})[${pick(["10m", "30m"])}:${pick(["1m", "5m"])}])`,
  ];
  return () => (r() < 0.2 ? pick(extras)() : vector(Math.floor(r() * 3) + 1));
}

interface Body {
  status: string;
  errorType?: string;
  data?: { resultType: string; result: unknown };
}

function closeEnough(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  if (Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y))) return true;
  // Rounding residue where the exact answer is 0 (e.g. stddev of equal values: 2.42 gives
  // 1.6e-16 where Kahan-compensated Prometheus 3 arithmetic gives 0).
  return Math.min(Math.abs(x), Math.abs(y)) === 0 && Math.max(Math.abs(x), Math.abs(y)) < 1e-12;
}

/** Same result up to value tolerance; instant vectors compared as sets keyed by labels. */
function sameResult(p: Body, m: Body): string | undefined {
  if (p.status !== m.status) return `status ${p.status} vs ${m.status}`;
  if (p.status !== "success") return p.errorType === m.errorType ? undefined : `errorType ${p.errorType} vs ${m.errorType}`;
  if (p.data!.resultType !== m.data!.resultType) return `resultType ${p.data!.resultType} vs ${m.data!.resultType}`;
  const key = (x: { metric: Record<string, string> }): string => JSON.stringify(Object.entries(x.metric).sort());
  if (p.data!.resultType === "vector" || p.data!.resultType === "matrix") {
    const pr = p.data!.result as { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
    const mr = m.data!.result as typeof pr;
    if (pr.length !== mr.length) return `${pr.length} vs ${mr.length} series`;
    const byKey = new Map(mr.map((x) => [key(x), x]));
    for (const ps of pr) {
      const ms = byKey.get(key(ps));
      if (!ms) return `series ${key(ps)} missing`;
      const pv = ps.values ?? [ps.value!];
      const mv = ms.values ?? [ms.value!];
      if (pv.length !== mv.length) return `${key(ps)}: ${pv.length} vs ${mv.length} points`;
      for (let i = 0; i < pv.length; i++) {
        if (pv[i]![0] !== mv[i]![0] || !closeEnough(pv[i]![1], mv[i]![1])) return `${key(ps)} point ${i}: ${JSON.stringify(pv[i])} vs ${JSON.stringify(mv[i])}`;
      }
    }
    return undefined;
  }
  const [pt, pv] = p.data!.result as [number, string];
  const [mt, mv] = m.data!.result as [number, string];
  return pt === mt && closeEnough(pv, mv) ? undefined : `${JSON.stringify(p.data!.result)} vs ${JSON.stringify(m.data!.result)}`;
}

async function body(base: string, path: string): Promise<Body> {
  return (await (await fetch(`${base}${path}`)).json()) as Body;
}

describe.skipIf(!havePrometheus)(`random PromQL (seed ${SEED}, ${COUNT} expressions): Meridian querier vs Prometheus 2.42`, () => {
  it("agrees on every generated expression, instant and range", async () => {
    const next = generator(SEED);
    const seen = new Set<string>();
    const mismatches: string[] = [];
    let compared = 0;
    let nonEmpty = 0;
    while (seen.size < COUNT) {
      const expr = next();
      if (seen.has(expr)) continue;
      seen.add(expr);
      for (const path of [
        `/api/v1/query?query=${encodeURIComponent(expr)}&time=${AT / 1000}`,
        `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${START / 1000}&end=${END / 1000}&step=60`,
      ]) {
        const [p, m, h] = await Promise.all([body(stack!.prom.url, path), body(stack!.querier.url, path), body(ha!.url, path)]);
        compared++;
        if (p.status === "success" && Array.isArray(p.data!.result) && (p.data!.result as unknown[]).length > 0) nonEmpty++;
        const kind = path.startsWith("/api/v1/query?") ? "instant" : "range";
        const d = sameResult(p, m);
        if (d) mismatches.push(`${kind} ${expr}\n    ${d}`);
        const dh = sameResult(p, h);
        if (dh) mismatches.push(`${kind} (HA pair, deduplicated) ${expr}\n    ${dh}`);
      }
    }
    expect(nonEmpty).toBeGreaterThan(compared / 2); // the generator mostly produces data, not empty sets
    expect(mismatches).toEqual([]);
  });
});
