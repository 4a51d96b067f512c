/**
 * Float accumulators for PromQL aggregation operators, reproducing the numerics of Prometheus 3's
 * `evaluator.aggregation` for float samples: `sum` Kahan-compensated, `avg` as a Kahan sum that
 * switches to an incremental mean on overflow, `stddev`/`stdvar` with Welford's update (the first
 * value being NaN or ±Inf makes the group NaN), `min`/`max` where NaN is replaced by any number,
 * `quantile` over collected values. The engine creates one accumulator per output group and step.
 * (`topk`, `bottomk`, `limitk`, `limit_ratio`, `count_values` select samples rather than reduce
 * floats and stay in the engine.)
 */
import { createKahanState, kahanAdd } from "./kahan.ts";
import { quantileOf } from "./quantile.ts";

/** Aggregation operators that reduce a group's floats to one number. */
export type FloatAggregationOp = "sum" | "avg" | "min" | "max" | "count" | "group" | "stddev" | "stdvar" | "quantile";

/** Accumulates one group's float values. */
export interface FloatAggregator {
  /** Adds one sample value (call at least once before {@link FloatAggregator.result}). */
  add(v: number): void;
  /** The aggregated value. */
  result(): number;
}

/** `sum`: Kahan–Neumaier compensated sum (result `sum + c`). */
export function createSumAggregator(): FloatAggregator {
  const s = createKahanState();
  return {
    add: (v) => kahanAdd(s, v),
    result: () => s.sum + s.c,
  };
}

/**
 * `avg`: direct compensated sum divided by the count as long as the running sum is finite; when
 * adding a value would overflow, switches for good to an incremental mean
 * `mean·(n−1)/n + v/n` (also compensated), like Prometheus.
 */
export function createAvgAggregator(): FloatAggregator {
  const s = createKahanState();
  let count = 0;
  let incremental = false;
  return {
    add(v) {
      count++;
      if (count === 1) {
        s.sum = v;
        s.c = 0;
        return;
      }
      if (!incremental) {
        const prevSum = s.sum;
        const prevC = s.c;
        kahanAdd(s, v);
        if (s.sum !== Infinity && s.sum !== -Infinity) return;
        incremental = true;
        s.sum = prevSum / (count - 1);
        s.c = prevC / (count - 1);
      }
      const q = (count - 1) / count;
      s.sum *= q;
      s.c *= q;
      kahanAdd(s, v / count);
    },
    result: () => (incremental ? s.sum + s.c : s.sum / count + s.c / count),
  };
}

/** `min`/`max`: the first value, replaced by any better value or whenever the current one is NaN. */
export function createMinMaxAggregator(max: boolean): FloatAggregator {
  let cur = NaN;
  let seen = false;
  return {
    add(v) {
      if (!seen) {
        seen = true;
        cur = v;
        return;
      }
      if ((max ? cur < v : cur > v) || cur !== cur) cur = v;
    },
    result: () => cur,
  };
}

/**
 * `stdvar` (or `stddev` with `sqrt`): population variance by Welford's update without Kahan, as the
 * Prometheus aggregation does. A NaN or ±Inf first value makes the result NaN.
 */
export function createVarianceAggregator(sqrt: boolean): FloatAggregator {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  return {
    add(v) {
      count++;
      if (count === 1) {
        mean = v;
        m2 = v !== v || v === Infinity || v === -Infinity ? NaN : 0;
        return;
      }
      const d = v - mean;
      mean += d / count;
      m2 += d * (v - mean);
    },
    result: () => (sqrt ? Math.sqrt(m2 / count) : m2 / count),
  };
}

/** `quantile(φ, …)`: collects values, then {@link quantileOf} (φ out of [0,1] gives ±Inf). */
export function createQuantileAggregator(phi: number): FloatAggregator {
  const values: number[] = [];
  return {
    add: (v) => void values.push(v),
    result: () => quantileOf(phi, values),
  };
}

/**
 * Creates the accumulator for `op`. `param` is φ for `quantile` (ignored otherwise). `count`
 * counts values, `group` is always 1.
 */
export function createFloatAggregator(op: FloatAggregationOp, param = NaN): FloatAggregator {
  switch (op) {
    case "sum":
      return createSumAggregator();
    case "avg":
      return createAvgAggregator();
    case "min":
      return createMinMaxAggregator(false);
    case "max":
      return createMinMaxAggregator(true);
    case "stddev":
      return createVarianceAggregator(true);
    case "stdvar":
      return createVarianceAggregator(false);
    case "quantile":
      return createQuantileAggregator(param);
    case "count": {
      let n = 0;
      return { add: () => void n++, result: () => n };
    }
    case "group":
      return { add: () => undefined, result: () => 1 };
  }
}
