/**
 * Function dispatch of the engine: query-level functions (time, pi, start/end/step/range,
 * min_of/max_of, timestamp, label_*, info) here; range-vector functions in functions-range.ts,
 * instant-vector ones in functions-instant.ts. Prometheus 3 `__name__` handling: every function
 * drops the name except `last_over_time`, `first_over_time`, sort*, label_* and friends.
 */
import type { Call, Expr } from "./ast.ts";
import { timestampSelector } from "./eval-selectors.ts";
import type { Evaluator } from "./evaluator.ts";
import { evalInfo } from "./functions-info.ts";
import { evalInstantFunction } from "./functions-instant.ts";
import { labelJoin, labelReplace } from "./functions-labels.ts";
import { evalRangeFunction, unparen } from "./functions-range.ts";
import { goMax, goMin } from "./kernels/index.ts";
import type { NodeValue, StepSeries } from "./step-series.ts";

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
  if (mi >= 0) return { type: "vector", series: await evalRangeFunction(ev, e, mi, path) };
  return evalInstantFunction(ev, e, path);
}

function nameDrop(ev: Evaluator, s: StepSeries[]): StepSeries[] {
  return ev.markDropName(s);
}
