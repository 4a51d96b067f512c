/**
 * Aggregation operators over step-evaluated input, as Prometheus' `rangeEvalAgg`: groups are
 * assigned once per input series (by/without), then each step reduces the present samples of every
 * group. Output order is the order in which groups first appear in the input (Prometheus' order for
 * instant queries). Float reductions use H7's kernels (`kernels/aggregate.ts`) for Prometheus'
 * numerics; topk/bottomk use Go's heap order so ties resolve identically.
 */
import { compareStrings, METRIC_NAME, type Labels } from "../model/labels.ts";
import type { AggregateExpr, Expr } from "./ast.ts";
import type { Evaluator } from "./evaluator.ts";
import { byReverseValueLess, byValueLess, goSort, heapFix, heapPush } from "./go-sort.ts";
import { createFloatAggregator, type FloatAggregationOp, type FloatAggregator } from "./kernels/index.ts";
import { labelsHash } from "./labels-hash.ts";
import {
  keepLabels, labelsKey, newStepSeries, removeLabels, SeriesCollector, setLabel, signature, type NodeValue, type StepSeries,
} from "./step-series.ts";
import { ExecutionError } from "./value.ts";
import { formatGoFloat } from "./format-float.ts";

/** Evaluates an aggregation. */
export async function evalAggregate(ev: Evaluator, e: AggregateExpr, path: readonly Expr[]): Promise<NodeValue> {
  const grouping = [...e.grouping].sort(compareStrings);
  if (e.op === "count_values") return { type: "vector", series: await countValues(ev, e, grouping, path) };
  let param: Float64Array | null = null;
  if (e.param) param = await ev.evalScalar(e.param, path);
  const input = await ev.evalVector(e.expr, path);
  const names = new Set(grouping);
  // Group assignment, once per series.
  const groupOf = new Int32Array(input.length);
  const groupLabels: Labels[] = [];
  const byKey = new Map<string, number>();
  input.forEach((s, k) => {
    const key = signature(s.labels, !e.without, names);
    let g = byKey.get(key);
    if (g === undefined) {
      g = groupLabels.length;
      byKey.set(key, g);
      groupLabels.push(
        e.without ? removeLabels(s.labels, new Set([...names, METRIC_NAME])) : grouping.length > 0 ? keepLabels(s.labels, names) : [],
      );
    }
    groupOf[k] = g;
  });
  switch (e.op) {
    case "topk":
    case "bottomk":
    case "limitk":
    case "limit_ratio":
      return { type: "vector", series: selectK(ev, e, input, groupOf, groupLabels.length, param!) };
    default:
      return { type: "vector", series: reduce(ev, e, input, groupOf, groupLabels, param) };
  }
}

function reduce(
  ev: Evaluator, e: AggregateExpr, input: StepSeries[], groupOf: Int32Array, groupLabels: Labels[], param: Float64Array | null,
): StepSeries[] {
  if (e.op === "quantile" && param) {
    for (let i = 0; i < ev.n; i++) {
      const q = param[i]!;
      if (q !== q || q < 0 || q > 1) {
        ev.warn(`quantile value should be between 0 and 1, got ${formatGoFloat(q)}`, e.param!.pos);
        break;
      }
    }
  }
  const out =
    e.op === "sum" || e.op === "count" || e.op === "group" || e.op === "min" || e.op === "max"
      ? reduceSimple(ev, e.op, input, groupOf, groupLabels)
      : reduceWithAggregators(ev, e, input, groupOf, groupLabels, param);
  const res = out.filter((s) => s.p.includes(1));
  ev.accountSeries(res);
  return res;
}

/**
 * sum/count/group/min/max, series-major: each input series' arrays are read sequentially and
 * folded into its group's per-step accumulators (cache-friendly for many series).
 */
function reduceSimple(
  ev: Evaluator, op: "sum" | "count" | "group" | "min" | "max", input: StepSeries[], groupOf: Int32Array, groupLabels: Labels[],
): StepSeries[] {
  const n = ev.n;
  ev.reserveSlots(groupLabels.length * n * (op === "sum" ? 3 : 2));
  const out = groupLabels.map((l) => newStepSeries(l, n));
  const comp = op === "sum" ? groupLabels.map(() => new Float64Array(n)) : null;
  // Per group and step: 0 = unseen, 1 = seen without dropName, 2 = seen with dropName.
  const drop = groupLabels.map(() => new Uint8Array(n));
  for (let k = 0; k < input.length; k++) {
    if (k % 256 === 0) ev.check();
    const s = input[k]!;
    const g = groupOf[k]!;
    const o = out[g]!;
    const ov = o.v;
    const op_ = o.p;
    const dg = drop[g]!;
    const sv = s.v;
    const sp = s.p;
    const sd = s.dropName ? 2 : 1;
    const c = comp?.[g];
    for (let i = 0; i < n; i++) {
      if (!sp[i]) continue;
      const x = sv[i]!;
      if (!op_[i]) {
        op_[i] = 1;
        dg[i] = sd;
        ov[i] = op === "count" || op === "group" ? 1 : x;
        continue;
      }
      if (sd === 2) dg[i] = 2;
      switch (op) {
        case "sum": {
          const sum = ov[i]!;
          const t = sum + x;
          if (t > Number.MAX_VALUE || t < -Number.MAX_VALUE) c![i] = 0;
          else if (Math.abs(sum) >= Math.abs(x)) c![i]! += sum - t + x;
          else c![i]! += x - t + sum;
          ov[i] = t;
          break;
        }
        case "count": ov[i]!++; break;
        case "group": break;
        case "min": if (ov[i]! > x || ov[i] !== ov[i]) ov[i] = x; break;
        case "max": if (ov[i]! < x || ov[i] !== ov[i]) ov[i] = x; break;
      }
    }
  }
  out.forEach((o, g) => {
    const dg = drop[g]!;
    if (comp) {
      const c = comp[g]!;
      for (let i = 0; i < n; i++) if (o.p[i]) o.v[i] = o.v[i]! + c[i]!;
    }
    // Prometheus sets the group's dropName at every step; the last step with data wins.
    for (let i = n - 1; i >= 0; i--) {
      if (dg[i]) {
        o.dropName = dg[i] === 2;
        break;
      }
    }
  });
  return out;
}

/** avg/stddev/stdvar/quantile, step-major with H7's float accumulators. */
function reduceWithAggregators(
  ev: Evaluator, e: AggregateExpr, input: StepSeries[], groupOf: Int32Array, groupLabels: Labels[], param: Float64Array | null,
): StepSeries[] {
  const G = groupLabels.length;
  const n = ev.n;
  const out = groupLabels.map((l) => newStepSeries(l, n));
  const stamp = new Int32Array(G).fill(-1);
  const drop = new Uint8Array(G);
  const aggs: (FloatAggregator | undefined)[] = new Array(G);
  for (let i = 0; i < n; i++) {
    if (i % 16 === 0) ev.check();
    for (let k = 0; k < input.length; k++) {
      const s = input[k]!;
      if (!s.p[i]) continue;
      const g = groupOf[k]!;
      const x = s.v[i]!;
      if (stamp[g] !== i) {
        stamp[g] = i;
        drop[g] = s.dropName ? 1 : 0;
        const a = createFloatAggregator(e.op as FloatAggregationOp, param ? param[i]! : NaN);
        a.add(x);
        aggs[g] = a;
        continue;
      }
      if (s.dropName) drop[g] = 1;
      aggs[g]!.add(x);
    }
    for (let g = 0; g < G; g++) {
      if (stamp[g] !== i) continue;
      const o = out[g]!;
      o.p[i] = 1;
      o.v[i] = aggs[g]!.result();
      o.dropName = drop[g] === 1;
      aggs[g] = undefined;
    }
  }
  return out;
}

interface Cand {
  k: number;
  v: number;
}

function selectK(ev: Evaluator, e: AggregateExpr, input: StepSeries[], groupOf: Int32Array, G: number, param: Float64Array): StepSeries[] {
  const n = ev.n;
  let max = -Infinity;
  let min = Infinity;
  let anyNaN = false;
  for (let i = 0; i < n; i++) {
    const p = param[i]!;
    if (p !== p) anyNaN = true;
    else {
      if (p > max) max = p;
      if (p < min) min = p;
    }
  }
  if (e.op === "limit_ratio") {
    if (max === 0 && min === 0 && !anyNaN) return [];
    if (anyNaN) throw new ExecutionError("Ratio value is NaN");
    if (max > 1) ev.warn(`ratio value should be between -1 and 1, got ${formatGoFloat(max)}, capping to 1`, e.param!.pos);
    if (min < -1) ev.warn(`ratio value should be between -1 and 1, got ${formatGoFloat(min)}, capping to -1`, e.param!.pos);
  } else {
    if (!anyNaN && max < 1) return [];
    if (anyNaN && max < 1 && min === Infinity) {
      // all NaN: Prometheus' Max() of NaNs is NaN, which is not < 1
    }
    if (anyNaN) throw new ExecutionError("Parameter value is NaN");
    if (min <= -9.223372036854776e18) throw new ExecutionError(`Scalar value ${formatGoFloat(min)} underflows int64`);
    if (max >= 9.223372036854776e18) throw new ExecutionError(`Scalar value ${formatGoFloat(max)} overflows int64`);
  }
  const out = new SeriesCollector(n);
  const outIdx = new Int32Array(input.length).fill(-1);
  const hashes = e.op === "limit_ratio" ? input.map((s) => labelsHash(s.labels)) : null;
  const top = e.op === "topk";
  const less = top ? (a: Cand, b: Cand) => byValueLess(a.v, b.v) : (a: Cand, b: Cand) => byReverseValueLess(a.v, b.v);
  const instant = n === 1;
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 16 === 0) ev.check();
    const heaps: (Cand[] | undefined)[] = new Array(G);
    let k = 0;
    let r = 0;
    if (e.op === "limit_ratio") r = Math.max(-1, Math.min(1, param[i]!));
    else {
      k = Math.min(Math.trunc(param[i]!), input.length);
      if (k < 1) continue;
    }
    if (e.op === "limit_ratio" && r === 0) continue;
    for (let s = 0; s < input.length; s++) {
      const ser = input[s]!;
      if (!ser.p[i]) continue;
      const g = groupOf[s]!;
      const c: Cand = { k: s, v: ser.v[i]! };
      let h = heaps[g];
      if (!h) heaps[g] = h = [];
      switch (e.op) {
        case "limit_ratio":
          if (ratioSelected(r, hashes![s]!)) h.push(c);
          break;
        case "limitk":
          if (h.length < k) h.push(c);
          break;
        default:
          if (h.length < k) heapPush(h, c, less);
          else if (top ? h[0]!.v < c.v || (h[0]!.v !== h[0]!.v && c.v === c.v) : h[0]!.v > c.v || (h[0]!.v !== h[0]!.v && c.v === c.v)) {
            h[0] = c;
            if (k > 1) heapFix(h, 0, less);
          }
      }
    }
    for (let g = 0; g < G; g++) {
      const h = heaps[g];
      if (!h) continue;
      if (e.op === "topk" || e.op === "bottomk") goSort(h, (a, b) => less(b, a));
      for (const c of h) {
        const ser = input[c.k]!;
        if (outIdx[c.k]! < 0) outIdx[c.k] = out.index(ser.labels, ser.dropName);
        out.set(outIdx[c.k]!, i, c.v);
        if (instant) order.push(outIdx[c.k]!);
      }
    }
  }
  if (instant) return order.map((j) => out.series[j]!);
  return out.nonEmpty();
}

/** Prometheus' ratio sampler: a series is kept when its label hash falls in the ratio's share. */
function ratioSelected(r: number, hash: number): boolean {
  return r >= 0 ? hash < r : hash >= 1 + r;
}

async function countValues(ev: Evaluator, e: AggregateExpr, grouping: string[], path: readonly Expr[]): Promise<StepSeries[]> {
  const labelName = e.param?.kind === "string" ? e.param.value : "";
  if (labelName === "" || labelName.includes("\ufffd")) {
    throw new ExecutionError(`invalid label name ${JSON.stringify(labelName)}`);
  }
  const input = await ev.evalVector(e.expr, path);
  const g = e.without ? grouping : [...grouping, labelName].sort(compareStrings);
  const names = new Set(g);
  const out = new SeriesCollector(ev.n);
  for (let i = 0; i < ev.n; i++) {
    const counts = new Map<string, { labels: Labels; n: number }>();
    for (const s of input) {
      if (!s.p[i]) continue;
      const lb = setLabel(s.labels, labelName, formatGoFloat(s.v[i]!, true));
      const key = signature(lb, !e.without, names);
      const c = counts.get(key);
      if (c) c.n++;
      else {
        const gl = e.without ? removeLabels(lb, new Set([...names, METRIC_NAME])) : keepLabels(lb, names);
        counts.set(key, { labels: gl, n: 1 });
      }
    }
    for (const c of counts.values()) out.add(c.labels, false, i, c.n);
  }
  void labelsKey;
  return out.nonEmpty();
}
