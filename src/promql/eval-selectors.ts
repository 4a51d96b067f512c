/**
 * Selector and range-vector handling of the evaluator: instant selectors (lookback, `smoothed`,
 * `timestamp()`), matrix selectors as range operands, and the window of a range operand visible at
 * one step, and subqueries as range operands. Plain functions over an {@link Evaluator}, so the
 * evaluator itself stays the dispatch.
 */
import { isStaleMarker, type FloatSeries } from "../model/series.ts";
import type { Expr, MatrixSelector, SubqueryExpr, VectorSelector } from "./ast.ts";
import type { Evaluator } from "./evaluator.ts";
import { selectSeries } from "./eval-storage.ts";
import { extendFloats, smoothedValue, withoutStaleMarkers } from "./extended-range.ts";
import type { RangeOperand } from "./query-context.ts";
import { upperBound } from "./sorted-search.ts";
import { ExecutionError } from "./value.ts";
import { newStepSeries, type RangeSeries, type StepSeries } from "./step-series.ts";

/** Instant vector selector: newest non-stale sample in `(t - lookback, t]` per step. */
export async function instantSelector(ev: Evaluator, vs: VectorSelector, path: readonly Expr[]): Promise<StepSeries[]> {
  const raw = await selectSeries(ev, vs, path, 0);
  if (vs.smoothed) return smoothedSelector(ev, vs, raw);
  const out: StepSeries[] = [];
  const at = ev.atTime(vs);
  const lookback = ev.ctx.lookbackDelta;
  for (const s of raw) {
    ev.check();
    const { t, v } = s;
    ev.reserveSlots(ev.n);
    const ss = newStepSeries(s.labels, ev.n);
    let j = -1; // index of the last sample with t <= refT
    let any = 0;
    for (let i = 0; i < ev.n; i++) {
      const refT = (at ?? ev.ts(i)) - vs.offset;
      while (j + 1 < t.length && t[j + 1]! <= refT) j++;
      if (j < 0 || t[j]! <= refT - lookback) continue;
      const x = v[j]!;
      if (x !== x && isStaleMarker(x)) continue;
      ss.v[i] = x;
      ss.p[i] = 1;
      any++;
    }
    ev.keepIfAny(out, ss, any);
  }
  return out;
}

/** `x smoothed`: per step the value at the step time, interpolated between neighbours within ± lookback. */
export function smoothedSelector(ev: Evaluator, vs: VectorSelector, raw: readonly FloatSeries[]): StepSeries[] {
  const at = ev.atTime(vs);
  const lb = ev.ctx.lookbackDelta;
  const out: StepSeries[] = [];
  for (const s of raw) {
    const { t, v } = withoutStaleMarkers(s.t, s.v);
    ev.reserveSlots(ev.n);
    const ss = newStepSeries(s.labels, ev.n);
    let lo = 0;
    let hi = 0;
    let any = 0;
    for (let i = 0; i < ev.n; i++) {
      const dataTs = (at ?? ev.ts(i)) - vs.offset;
      while (hi < t.length && t[hi]! <= dataTs + lb) hi++;
      while (lo < hi && t[lo]! <= dataTs - lb) lo++;
      const x = smoothedValue(t, v, lo, hi, dataTs);
      if (x === undefined) continue;
      ss.v[i] = x;
      ss.p[i] = 1;
      any++;
    }
    ev.keepIfAny(out, ss, any);
  }
  return out;
}

/** Like {@link instantSelector} but each value is the sample's own timestamp in seconds (`timestamp(x)`). */
export async function timestampSelector(ev: Evaluator, vs: VectorSelector, path: readonly Expr[]): Promise<StepSeries[]> {
  const raw = await selectSeries(ev, vs, path, 0);
  const out: StepSeries[] = [];
  const at = ev.atTime(vs);
  for (const s of raw) {
    const { t, v } = s;
    ev.reserveSlots(ev.n);
    const ss = newStepSeries(s.labels, ev.n, true);
    let j = -1;
    let any = 0;
    for (let i = 0; i < ev.n; i++) {
      const refT = (at ?? ev.ts(i)) - vs.offset;
      while (j + 1 < t.length && t[j + 1]! <= refT) j++;
      if (j < 0 || t[j]! <= refT - ev.ctx.lookbackDelta) continue;
      const x = v[j]!;
      if (x !== x && isStaleMarker(x)) continue;
      ss.v[i] = t[j]! / 1000;
      ss.p[i] = 1;
      any++;
    }
    ev.keepIfAny(out, ss, any);
  }
  return out;
}

/** A matrix selector as a range operand (raw series, stale markers kept for the kernels to skip). */
export async function matrixOperand(ev: Evaluator, ms: MatrixSelector, path: readonly Expr[]): Promise<RangeOperand> {
  const vs = ms.vectorSelector;
  const raw = await selectSeries(ev, vs, [...path, ms], ms.range);
  return {
    series: raw.map((s) => ({ labels: s.labels, t: s.t, v: s.v, dropName: false })),
    range: ms.range,
    offset: vs.offset,
    at: ev.atTime(vs),
    anchored: vs.anchored ?? false,
    smoothed: vs.smoothed ?? false,
  };
}

/** The samples of a range operand visible at step `i` (instant query result of `x[5m]`), stale markers removed. */
export function windowAt(ev: Evaluator, op: RangeOperand, i: number): RangeSeries[] {
  const refT = (op.at ?? ev.ts(i)) - op.offset;
  const out: RangeSeries[] = [];
  let total = 0;
  const extended = op.anchored || op.smoothed;
  const lb = ev.ctx.lookbackDelta;
  const lo = refT - op.range - (extended ? lb : 0);
  const hi = refT + (op.smoothed ? lb : 0);
  for (const s of op.series) {
    // Window (lo, hi] by binary search; without stale markers it is a zero-copy view.
    const a = upperBound(s.t, lo);
    const b = upperBound(s.t, hi);
    if (b <= a) continue;
    const clean = withoutStaleMarkers(s.t.subarray(a, b), s.v.subarray(a, b));
    let t = clean.t;
    let v = clean.v;
    if (extended) {
      const ext = extendFloats(t, v, refT - op.range, refT, op.smoothed ?? false);
      t = Float64Array.from(ext.t);
      v = Float64Array.from(ext.v);
    }
    if (t.length === 0) continue;
    total += t.length;
    out.push({ labels: s.labels, t, v, dropName: s.dropName });
  }
  ev.account(total);
  return out;
}

/** A subquery as a range operand: its inner expression evaluated on its own step grid, as raw series. */
export async function subqueryOperand(ev: Evaluator, sq: SubqueryExpr, path: readonly Expr[]): Promise<RangeOperand> {
  const at = ev.atTime(sq);
  const child = ev.subqueryEvaluator(sq);
  const val = await child.eval(sq.expr, [...path, sq]);
  if (val.type !== "vector") throw new ExecutionError("subquery is only allowed on instant vector");
  const series: RangeSeries[] = [];
  for (const s of val.series) {
    let k = 0;
    for (let i = 0; i < child.n; i++) k += s.p[i]!;
    if (k === 0) continue;
    const t = new Float64Array(k);
    const v = new Float64Array(k);
    k = 0;
    for (let i = 0; i < child.n; i++) {
      if (!s.p[i]) continue;
      t[k] = child.ts(i);
      v[k] = s.v[i]!;
      k++;
    }
    series.push({ labels: s.labels, t, v, dropName: s.dropName });
  }
  return { series, range: sq.range, offset: sq.offset, at };
}
