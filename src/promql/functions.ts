/**
 * Function dispatch of the engine. Range-vector functions slide a left-open window over each
 * series' typed arrays and call H7's numeric kernels (`kernels/`); instant-vector functions map
 * values per step. Series-level functions (label_replace, label_join, sort*, absent, scalar,
 * vector, time, timestamp) are implemented here, with Prometheus 3 `__name__` handling: every
 * function drops the name except `last_over_time`, `first_over_time`, sort*, label_* and friends.
 */
import { getLabel, METRIC_NAME, type Labels } from "../model/labels.ts";
import type { Call, Expr } from "./ast.ts";
import { matrixOperand, subqueryOperand, timestampSelector } from "./eval-selectors.ts";
import type { Evaluator } from "./evaluator.ts";
import type { RangeOperand } from "./query-context.ts";
import { ANCHORED_SAFE, anchoredStart, extendedRate, SMOOTHED_SAFE, withoutStaleMarkers } from "./extended-range.ts";
import { evalHistogramFunc } from "./functions-histogram.ts";
import { evalInfo } from "./functions-info.ts";
import { labelJoin, labelReplace } from "./functions-labels.ts";
import { createSlidingExtremum } from "./sliding-extremum.ts";
import { absentLabels, evalSortFunc } from "./functions-series.ts";
import {
  DATE_KERNELS, RANGE_KERNELS, UNARY_KERNELS, clamp, clampValid, doubleExponentialSmoothing, goMax, goMin, predictLinear,
  quantileOverTime, RateScanner, round,
} from "./kernels/index.ts";
import { dropMetricName, labelsKey, newStepSeries, type NodeValue, type StepSeries } from "./step-series.ts";
import { ExecutionError } from "./value.ts";
import { formatGoFloat } from "./format-float.ts";

/** The range functions {@link RateScanner} computes, with its flags. */
const RATE_LIKE: ReadonlyMap<string, { isCounter: boolean; isRate: boolean }> = new Map([
  ["rate", { isCounter: true, isRate: true }],
  ["increase", { isCounter: true, isRate: false }],
  ["delta", { isCounter: false, isRate: false }],
]);

function unparen(e: Expr): Expr {
  while (e.kind === "paren") e = e.expr;
  return e;
}

/** Evaluates a function call. */
export async function evalCall(ev: Evaluator, e: Call, path: readonly Expr[]): Promise<NodeValue> {
  const name = e.func;
  switch (name) {
    case "timestamp": {
      const a = e.args[0]!;
      if (a.kind === "vectorSelector") return { type: "vector", series: nameDrop(ev, await timestampSelector(ev, a, path)) };
      const vec = await ev.evalVector(a, path);
      for (const s of vec) for (let i = 0; i < ev.n; i++) s.v[i] = ev.ts(i) / 1000;
      return { type: "vector", series: ev.markDropName(vec) };
    }
    case "label_replace":
      return { type: "vector", series: await labelReplace(ev, e, path) };
    case "label_join":
      return { type: "vector", series: await labelJoin(ev, e, path) };
    case "info":
      return { type: "vector", series: await evalInfo(ev, e, path) };
    case "time": {
      const v = new Float64Array(ev.n);
      for (let i = 0; i < ev.n; i++) v[i] = ev.ts(i) / 1000;
      return { type: "scalar", v };
    }
    case "pi":
      return { type: "scalar", v: new Float64Array(ev.n).fill(Math.PI) };
    case "start":
    case "end":
    case "step":
    case "range": {
      const c = ev.ctx;
      const x = name === "start" ? c.queryStart : name === "end" ? c.queryEnd : name === "step" ? c.queryStep : c.queryEnd - c.queryStart;
      return { type: "scalar", v: new Float64Array(ev.n).fill(x / 1000) };
    }
    case "min_of":
    case "max_of": {
      const a = await ev.evalScalar(e.args[0]!, path);
      const b = await ev.evalScalar(e.args[1]!, path);
      const v = new Float64Array(ev.n);
      for (let i = 0; i < ev.n; i++) v[i] = name === "min_of" ? goMin(a[i]!, b[i]!) : goMax(a[i]!, b[i]!);
      return { type: "scalar", v };
    }
  }
  const mi = e.args.findIndex((a) => {
    const u = unparen(a);
    return u.kind === "matrixSelector" || u.kind === "subquery";
  });
  if (mi >= 0) return { type: "vector", series: await rangeFunction(ev, e, mi, path) };
  return instantFunction(ev, e, path);
}

function nameDrop(ev: Evaluator, s: StepSeries[]): StepSeries[] {
  return ev.markDropName(s);
}

async function rangeFunction(ev: Evaluator, e: Call, mi: number, path: readonly Expr[]): Promise<StepSeries[]> {
  const name = e.func;
  const params: (Float64Array | null)[] = [];
  for (let j = 0; j < e.args.length; j++) params.push(j === mi ? null : await ev.evalScalar(e.args[j]!, path));
  const arg = unparen(e.args[mi]!);
  const op: RangeOperand =
    arg.kind === "matrixSelector" ? await matrixOperand(ev, arg, [...path, e]) : await subqueryOperand(ev, arg as Extract<Expr, { kind: "subquery" }>, [...path, e]);
  if (op.anchored || op.smoothed) return extendedRangeFunction(ev, e, op);
  const keepName = name === "last_over_time" || name === "first_over_time";
  const n = ev.n;
  type K = (t: Float64Array, v: Float64Array, lo: number, hi: number, rs: number, re: number, i: number) => number | undefined;
  let kernel: K;
  const base = RANGE_KERNELS[name];
  switch (name) {
    case "quantile_over_time": {
      const phi = params[0]!;
      for (let i = 0; i < n; i++) {
        const q = phi[i]!;
        if (q !== q || q < 0 || q > 1) {
          ev.warn(`quantile value should be between 0 and 1, got ${formatGoFloat(q)}`, e.args[0]!.pos);
          break;
        }
      }
      kernel = (t, v, lo, hi, _rs, _re, i) => quantileOverTime(t, v, lo, hi, phi[i]!);
      break;
    }
    case "predict_linear": {
      const secs = params[1]!;
      kernel = (t, v, lo, hi, _rs, _re, i) => predictLinear(t, v, lo, hi, secs[i]!, ev.ts(i));
      break;
    }
    case "double_exponential_smoothing": {
      const sf = params[1]!;
      const tf = params[2]!;
      kernel = (t, v, lo, hi, _rs, _re, i) => {
        const a = sf[i]!;
        const b = tf[i]!;
        if (!(a > 0 && a < 1)) throw new ExecutionError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatGoFloat(a)}`);
        if (!(b > 0 && b < 1)) throw new ExecutionError(`invalid trend factor. Expected: 0 < tf < 1, got: ${formatGoFloat(b)}`);
        return doubleExponentialSmoothing(t, v, lo, hi, a, b);
      };
      break;
    }
    case "absent_over_time": {
      const present = new Uint8Array(n);
      const count = RANGE_KERNELS["count_over_time"]!;
      for (const s of op.series) {
        ev.check();
        forEachWindow(ev, op, s.t, (i, lo, hi, rs, re) => {
          if (count(s.t, s.v, lo, hi, rs, re) !== undefined) present[i] = 1;
        });
      }
      if (present.every((x) => x === 1)) return [];
      const labels = arg.kind === "matrixSelector" ? absentLabels(arg.vectorSelector) : [];
      const out = newStepSeries(labels, n, true);
      for (let i = 0; i < n; i++) if (!present[i]) { out.p[i] = 1; out.v[i] = 1; }
      return [out];
    }
    default:
      if (!base) throw new ExecutionError(`function ${JSON.stringify(name)} over range vectors is not supported`);
      kernel = base;
  }
  const out: StepSeries[] = [];
  const counterCheck = name === "rate" || name === "increase";
  const rateLike = RATE_LIKE.get(name);
  // With `@` and step-independent parameters the result is the same at every step.
  const stepInvariant = op.at !== null && name !== "predict_linear" && params.every((p) => p === null || p.every((x) => Object.is(x, p[0])));
  for (const s of op.series) {
    ev.check();
    let labels: Labels = s.labels;
    const drop = !keepName || s.dropName;
    if (drop && !ev.ctx.delayedNameRemoval) labels = dropMetricName(labels);
    ev.reserveSlots(n);
    const ss = newStepSeries(labels, n, drop && ev.ctx.delayedNameRemoval);
    let any = 0;
    const { t, v } = s;
    let widest = 0;
    // Forward-moving windows: min/max via a monotonic deque instead of rescanning each window.
    const sliding = op.at === null && (name === "max_over_time" || name === "min_over_time")
      ? createSlidingExtremum(name === "max_over_time", t.length)
      : null;
    if (stepInvariant) {
      // `@` pins the window: every step has the same value (Prometheus evaluates it once too).
      forEachWindow(ev, op, t, (i, lo, hi, rs, re) => {
        widest = hi - lo;
        const x = kernel(t, v, lo, hi, rs, re, i);
        if (x === undefined) return;
        ss.v.fill(x);
        ss.p.fill(1);
        any = n;
      }, 1);
    } else if (rateLike !== undefined && op.at === null) {
      // rate/increase/delta: O(1) per window unless the window holds a reset or stale marker.
      const scan = new RateScanner(t, v, rateLike.isCounter, rateLike.isRate);
      forEachWindow(ev, op, t, (i, lo, hi, rs, re) => {
        if (hi - lo > widest) widest = hi - lo;
        const x = scan.at(lo, hi, rs, re);
        if (x === undefined) return;
        ss.v[i] = x;
        ss.p[i] = 1;
        any++;
      });
    } else {
      forEachWindow(ev, op, t, (i, lo, hi, rs, re) => {
        if (hi - lo > widest) widest = hi - lo;
        const x = sliding ? sliding.at(v, lo, hi) : kernel(t, v, lo, hi, rs, re, i);
        if (x === undefined) return;
        ss.v[i] = x;
        ss.p[i] = 1;
        any++;
      });
    }
    // As Prometheus, the samples of the current window count against the limit while it is processed.
    ev.account(widest);
    ev.release(widest);
    if (any === 0) {
      ev.ctx.slots! -= n;
      continue;
    }
    ev.account(any);
    out.push(ss);
    if (counterCheck) {
      const metric = getLabel(s.labels, METRIC_NAME);
      if (metric !== "" && ev.ctx.typeAndUnitLabels) {
        const type = getLabel(s.labels, "__type__");
        if (type !== "counter" && type !== "histogram") {
          ev.info(`metric might not be a counter, __type__ label is not set to "counter" or "histogram", got ${JSON.stringify(type)}: ${JSON.stringify(metric)}`, e.args[mi]!.pos);
        }
      } else if (metric !== "" && !/_(total|sum|count|bucket)$/.test(metric)) {
        ev.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(metric)}`, e.args[mi]!.pos);
      }
    }
  }
  return ev.ctx.delayedNameRemoval || keepName ? out : assertUniqueLabels(out);
}

/** rate/increase/delta/changes/resets over `anchored` or `smoothed` range selectors. */
function extendedRangeFunction(ev: Evaluator, e: Call, op: RangeOperand): StepSeries[] {
  const name = e.func;
  if (op.anchored && !ANCHORED_SAFE.includes(name)) {
    throw new ExecutionError(`anchored modifier can only be used with: ${ANCHORED_SAFE.join(", ")} - not with ${name}`);
  }
  if (op.smoothed && !SMOOTHED_SAFE.includes(name)) {
    throw new ExecutionError(`smoothed modifier can only be used with: ${SMOOTHED_SAFE.join(", ")} - not with ${name}`);
  }
  const lb = ev.ctx.lookbackDelta;
  const ahead = op.smoothed ? lb : 0;
  const out: StepSeries[] = [];
  const isCounter = name !== "delta";
  const isRate = name === "rate";
  for (const s of op.series) {
    ev.check();
    const { t, v } = withoutStaleMarkers(s.t, s.v);
    let labels: Labels = s.labels;
    if (!ev.ctx.delayedNameRemoval) labels = dropMetricName(labels);
    ev.reserveSlots(ev.n);
    const ss = newStepSeries(labels, ev.n, ev.ctx.delayedNameRemoval);
    let lo = 0;
    let hi = 0;
    let any = 0;
    for (let i = 0; i < ev.n; i++) {
      const re = (op.at ?? ev.ts(i)) - op.offset;
      const rs = re - op.range;
      while (hi < t.length && t[hi]! <= re + ahead) hi++;
      while (lo < hi && t[lo]! <= rs - lb) lo++;
      if (hi === lo) continue;
      let x: number | undefined;
      if (name === "changes" || name === "resets") {
        const first = anchoredStart(t, lo, hi, rs);
        if (first < 0) continue;
        x = RANGE_KERNELS[name]!(t, v, first, hi, rs, re);
      } else {
        x = extendedRate(t, v, lo, hi, rs, re, op.smoothed ?? false, isCounter, isRate, op.range / 1000);
      }
      if (x === undefined) continue;
      ss.v[i] = x;
      ss.p[i] = 1;
      any++;
    }
    if (any === 0) {
      ev.ctx.slots! -= ev.n;
      continue;
    }
    ev.account(any);
    out.push(ss);
  }
  return ev.ctx.delayedNameRemoval ? out : assertUniqueLabels(out);
}

/**
 * Without delayed name removal Prometheus rejects a range-function result in which two series
 * share a label set once the name is gone, even when their steps do not overlap.
 */
function assertUniqueLabels(series: StepSeries[]): StepSeries[] {
  const seen = new Set<string>();
  for (const s of series) {
    const k = labelsKey(s.labels);
    if (seen.has(k)) throw new ExecutionError("vector cannot contain metrics with the same labelset");
    seen.add(k);
  }
  return series;
}

/** Calls `fn(step, lo, hi, rangeStart, rangeEnd)` for each step whose window `(re - range, re]` is non-empty. */
function forEachWindow(
  ev: Evaluator, op: RangeOperand, t: Float64Array, fn: (i: number, lo: number, hi: number, rs: number, re: number) => void,
  steps = ev.n,
): void {
  let lo = 0;
  let hi = 0;
  const len = t.length;
  for (let i = 0; i < steps; i++) {
    const re = (op.at ?? ev.ts(i)) - op.offset;
    const rs = re - op.range;
    while (hi < len && t[hi]! <= re) hi++;
    while (lo < hi && t[lo]! <= rs) lo++;
    if (hi > lo) fn(i, lo, hi, rs, re);
  }
}

async function instantFunction(ev: Evaluator, e: Call, path: readonly Expr[]): Promise<NodeValue> {
  const name = e.func;
  const n = ev.n;
  const unary = UNARY_KERNELS[name];
  if (unary) {
    const vec = await ev.evalVector(e.args[0]!, path);
    for (const s of vec) for (let i = 0; i < n; i++) if (s.p[i]) s.v[i] = unary(s.v[i]!);
    return { type: "vector", series: ev.markDropName(vec) };
  }
  const date = DATE_KERNELS[name];
  if (date) {
    if (e.args.length === 0) {
      const s = newStepSeries([], n);
      for (let i = 0; i < n; i++) {
        s.p[i] = 1;
        s.v[i] = date(Math.trunc(ev.ts(i) / 1000));
      }
      return { type: "vector", series: [s] };
    }
    const vec = await ev.evalVector(e.args[0]!, path);
    for (const s of vec) for (let i = 0; i < n; i++) if (s.p[i]) s.v[i] = date(s.v[i]!);
    return { type: "vector", series: ev.markDropName(vec) };
  }
  switch (name) {
    case "round": {
      const vec = await ev.evalVector(e.args[0]!, path);
      const to = e.args[1] ? await ev.evalScalar(e.args[1], path) : null;
      for (const s of vec) for (let i = 0; i < n; i++) if (s.p[i]) s.v[i] = round(s.v[i]!, to ? to[i]! : 1);
      return { type: "vector", series: ev.markDropName(vec) };
    }
    case "clamp":
    case "clamp_min":
    case "clamp_max": {
      const vec = await ev.evalVector(e.args[0]!, path);
      const a = await ev.evalScalar(e.args[1]!, path);
      const b = name === "clamp" ? await ev.evalScalar(e.args[2]!, path) : null;
      const out: StepSeries[] = [];
      for (const s of vec) {
        let any = false;
        for (let i = 0; i < n; i++) {
          if (!s.p[i]) continue;
          const lo = name === "clamp_max" ? -Infinity : a[i]!;
          const hi = name === "clamp" ? b![i]! : name === "clamp_max" ? a[i]! : Infinity;
          if (!clampValid(lo, hi)) {
            s.p[i] = 0;
            continue;
          }
          s.v[i] = clamp(s.v[i]!, lo, hi);
          any = true;
        }
        if (any) out.push(s);
      }
      return { type: "vector", series: ev.markDropName(out) };
    }
    case "scalar": {
      const vec = await ev.evalVector(e.args[0]!, path);
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let found = 0;
        let val = NaN;
        for (const s of vec) {
          if (!s.p[i]) continue;
          found++;
          val = s.v[i]!;
          if (found > 1) break;
        }
        v[i] = found === 1 ? val : NaN;
      }
      return { type: "scalar", v };
    }
    case "vector": {
      const v = await ev.evalScalar(e.args[0]!, path);
      const s = newStepSeries([], n);
      s.v.set(v);
      s.p.fill(1);
      return { type: "vector", series: [s] };
    }
    case "absent": {
      const vec = await ev.evalVector(e.args[0]!, path);
      const a = e.args[0]!;
      const labels = a.kind === "vectorSelector" ? absentLabels(a) : [];
      const s = newStepSeries(labels, n);
      for (let i = 0; i < n; i++) {
        if (vec.some((x) => x.p[i])) continue;
        s.p[i] = 1;
        s.v[i] = 1;
      }
      return { type: "vector", series: s.p.includes(1) ? [s] : [] };
    }
    case "sort":
    case "sort_desc":
    case "sort_by_label":
    case "sort_by_label_desc":
      return { type: "vector", series: await evalSortFunc(ev, e, path) };
    case "histogram_quantile":
    case "histogram_quantiles":
    case "histogram_fraction":
    case "histogram_count":
    case "histogram_sum":
    case "histogram_avg":
    case "histogram_stddev":
    case "histogram_stdvar":
      return { type: "vector", series: await evalHistogramFunc(ev, e, path) };
  }
  throw new ExecutionError(`function ${JSON.stringify(name)} is not supported`);
}
