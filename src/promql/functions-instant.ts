/**
 * Instant-vector functions of the engine: per-step value maps (math, date, round, clamp*),
 * scalar()/vector()/absent(), and dispatch to the sort and histogram function modules. Every
 * value-changing function drops `__name__` (Prometheus 3).
 */
import type { Call, Expr } from "./ast.ts";
import type { Evaluator } from "./evaluator.ts";
import { evalHistogramFunc } from "./functions-histogram.ts";
import { absentLabels, evalSortFunc } from "./functions-series.ts";
import { clamp, clampValid, DATE_KERNELS, round, UNARY_KERNELS } from "./kernels/index.ts";
import { newStepSeries, type NodeValue, type StepSeries } from "./step-series.ts";
import { ExecutionError } from "./value.ts";

/** A function over instant vectors and scalars: values mapped per step, or series-level functions. */
export async function evalInstantFunction(ev: Evaluator, e: Call, path: readonly Expr[]): Promise<NodeValue> {
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
