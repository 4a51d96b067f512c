/**
 * Range-vector functions of the engine (`rate(x[5m])`, `*_over_time`, `predict_linear`, ...):
 * windows slide over each series' typed arrays and call the numeric kernels (`kernels/`); rate,
 * increase and delta use the O(1) {@link RateScanner}, min/max a sliding extremum. `anchored` and
 * `smoothed` selectors take the extended-range path. Prometheus 3 name handling: the result drops
 * `__name__` except for `last_over_time` and `first_over_time`.
 */
import { getLabel, METRIC_NAME, type Labels } from "../model/labels.ts";
import type { Call, Expr } from "./ast.ts";
import { matrixOperand, subqueryOperand } from "./eval-selectors.ts";
import type { Evaluator } from "./evaluator.ts";
import type { RangeOperand } from "./query-context.ts";
import { ANCHORED_SAFE, anchoredStart, extendedRate, SMOOTHED_SAFE, withoutStaleMarkers } from "./extended-range.ts";
import { createSlidingExtremum } from "./sliding-extremum.ts";
import { absentLabels } from "./functions-series.ts";
import { doubleExponentialSmoothing, predictLinear, quantileOverTime, RANGE_KERNELS, RateScanner } from "./kernels/index.ts";
import { dropMetricName, labelsKey, newStepSeries, type StepSeries } from "./step-series.ts";
import { ExecutionError } from "./value.ts";
import { formatGoFloat } from "./format-float.ts";

/** The range functions {@link RateScanner} computes, with its flags. */
const RATE_LIKE: ReadonlyMap<string, { isCounter: boolean; isRate: boolean }> = new Map([
  ["rate", { isCounter: true, isRate: true }],
  ["increase", { isCounter: true, isRate: false }],
  ["delta", { isCounter: false, isRate: false }],
]);

/** `e` without enclosing parentheses. */
export function unparen(e: Expr): Expr {
  while (e.kind === "paren") e = e.expr;
  return e;
}

/**
 * A function with a range-vector argument (argument `mi`: a matrix selector or subquery): slides a
 * left-open window `(t - range, t]` over each series and applies the function's kernel per step.
 */
export async function evalRangeFunction(ev: Evaluator, e: Call, mi: number, path: readonly Expr[]): Promise<StepSeries[]> {
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
    if (!ev.keepIfAny(out, ss, any)) continue;
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
    ev.keepIfAny(out, ss, any);
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
