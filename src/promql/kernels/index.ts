/**
 * Numeric kernels of the PromQL engine: pure functions over typed arrays and numbers, no AST.
 * H6's `functions.ts` wires them to PromQL names. Exported API (all Prometheus 3.x semantics):
 *
 * Range kernels — window = indices `[start, end)` into a series' `t` (ms) / `v` arrays, already cut
 * by the engine to the left-open range `(rangeStartMs, rangeEndMs]`; `undefined` = no output
 * sample; stale markers inside the window are ignored:
 * - {@link RANGE_KERNELS}: name → {@link RangeKernel} `(t, v, start, end, rangeStartMs, rangeEndMs)`
 *   for `rate increase delta irate idelta deriv resets changes avg_over_time min_over_time
 *   max_over_time sum_over_time count_over_time last_over_time first_over_time present_over_time
 *   stddev_over_time stdvar_over_time mad_over_time ts_of_first_over_time ts_of_last_over_time
 *   ts_of_max_over_time ts_of_min_over_time`.
 * - With parameters: `quantileOverTime(t, v, start, end, phi)`,
 *   `predictLinear(t, v, start, end, seconds, evalTimeMs)`,
 *   `doubleExponentialSmoothing(t, v, start, end, sf, tf)` (caller validates 0<sf<1, 0<tf<1).
 * - Also individually: `rate increase delta extrapolatedRate irate idelta instantValue deriv
 *   linearRegression sumOverTime avgOverTime …` (camelCase names).
 *
 * Element-wise: {@link UNARY_KERNELS} (abs ceil floor exp sqrt ln log2 log10 sgn sin cos tan asin
 * acos atan sinh cosh tanh asinh acosh atanh deg rad), `round(x, toNearest)`,
 * `clamp(x, min, max)` + `clampValid(min, max)` (false → empty result), `goMin`/`goMax`;
 * {@link DATE_KERNELS} (year month day_of_month day_of_year day_of_week days_in_month hour minute)
 * taking Unix seconds.
 *
 * Histograms: `bucketQuantile(phi, buckets)` → `{ value, forcedMonotonicity, … }` and
 * `bucketFraction(lower, upper, buckets)` for classic `le` buckets.
 *
 * Aggregation: `createFloatAggregator(op, phi?)` for `sum avg min max count group stddev stdvar
 * quantile` → `{ add(v), result() }`; `quantileOf(phi, values)`.
 *
 * Numerics: `kahanAdd(state, x)`, `createKahanState()`, `almostEqual(a, b, eps)`.
 */
import { changes, countOverTime, firstOverTime, lastOverTime, madOverTime, maxOverTime, minOverTime, presentOverTime, resets, stddevOverTime, stdvarOverTime, sumOverTime, avgOverTime, tsOfFirstOverTime, tsOfLastOverTime, tsOfMaxOverTime, tsOfMinOverTime } from "./over-time.ts";
import { delta, idelta, increase, irate, rate } from "./rate.ts";
import { deriv } from "./regression.ts";

export * from "./aggregate.ts";
export * from "./date.ts";
export * from "./histogram.ts";
export * from "./kahan.ts";
export * from "./math.ts";
export * from "./over-time.ts";
export * from "./quantile.ts";
export * from "./rate.ts";
export * from "./regression.ts";

/** Uniform signature of the range kernels without extra parameters. */
export type RangeKernel = (t: Float64Array, v: Float64Array, start: number, end: number, rangeStartMs: number, rangeEndMs: number) => number | undefined;

/** Range kernels without extra parameters, by PromQL function name. */
export const RANGE_KERNELS: Readonly<Record<string, RangeKernel>> = {
  rate,
  increase,
  delta,
  irate,
  idelta,
  deriv,
  resets,
  changes,
  avg_over_time: avgOverTime,
  min_over_time: minOverTime,
  max_over_time: maxOverTime,
  sum_over_time: sumOverTime,
  count_over_time: countOverTime,
  last_over_time: lastOverTime,
  first_over_time: firstOverTime,
  present_over_time: presentOverTime,
  stddev_over_time: stddevOverTime,
  stdvar_over_time: stdvarOverTime,
  mad_over_time: madOverTime,
  ts_of_first_over_time: tsOfFirstOverTime,
  ts_of_last_over_time: tsOfLastOverTime,
  ts_of_max_over_time: tsOfMaxOverTime,
  ts_of_min_over_time: tsOfMinOverTime,
};
