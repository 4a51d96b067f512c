/**
 * `*_over_time` kernels and `resets`/`changes` over a window `[start, end)` of one float series,
 * with Prometheus 3 numerics (Kahan sums, overflow-safe mean, Welford variance, NaN rules).
 * `undefined` means "no output sample" (an empty window).
 */
import { createKahanState, kahanAdd } from "./kahan.ts";
import { quantileSorted, sortValuesNaNFirst } from "./quantile.ts";
import { copyValues, withoutStale } from "./window.ts";

/** Signature shared by the simple over-time kernels. */
export type WindowKernel = (t: Float64Array, v: Float64Array, start: number, end: number) => number | undefined;

const acc = createKahanState();

/** `sum_over_time`: Kahan-compensated sum; an infinite sum is returned without compensation. */
export function sumOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return sumOverTime(w.t, w.v, w.start, w.end);
  if (end <= start) return undefined;
  // kahanAdd inlined on locals (same operations, ~2x faster than going through a state object).
  let sum = 0;
  let c = 0;
  for (let i = start; i < end; i++) {
    const x = v[i]!;
    const s = sum + x;
    if (s > MAX || s < -MAX) c = 0;
    else if (Math.abs(sum) >= Math.abs(x)) c += sum - s + x;
    else c += x - s + sum;
    sum = s;
  }
  if (sum === Infinity || sum === -Infinity) return sum;
  return sum + c;
}

const MAX = Number.MAX_VALUE;

/**
 * `avg_over_time`: direct Kahan sum divided by the count while the running sum stays finite; once
 * it would overflow, Prometheus switches to an incremental mean (`mean·(n−1)/n + x/n`, also
 * compensated), so averages of huge values stay finite.
 */
export function avgOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return avgOverTime(w.t, w.v, w.start, w.end);
  if (end <= start) return undefined;
  acc.sum = v[start]!;
  acc.c = 0;
  let count = 1;
  let incremental = false;
  for (let i = start + 1; i < end; i++) {
    const f = v[i]!;
    count = i - start + 1;
    if (!incremental) {
      const prevSum = acc.sum;
      const prevC = acc.c;
      kahanAdd(acc, f);
      if (acc.sum !== Infinity && acc.sum !== -Infinity) continue;
      // Revert to incremental mean: acc now holds mean and its compensation.
      incremental = true;
      acc.sum = prevSum / (count - 1);
      acc.c = prevC / (count - 1);
    }
    const q = (count - 1) / count;
    acc.sum *= q;
    acc.c *= q;
    kahanAdd(acc, f / count);
  }
  if (incremental) return acc.sum + acc.c;
  return acc.sum / count + acc.c / count;
}

/** `count_over_time`: number of samples. */
export function countOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return countOverTime(w.t, w.v, w.start, w.end);
  return end > start ? end - start : undefined;
}

/** `present_over_time`: 1 when the window has any sample. */
export function presentOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return presentOverTime(w.t, w.v, w.start, w.end);
  return end > start ? 1 : undefined;
}

/** `last_over_time`: the newest value. */
export function lastOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return lastOverTime(w.t, w.v, w.start, w.end);
  return end > start ? v[end - 1]! : undefined;
}

/** `first_over_time`: the oldest value. */
export function firstOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return firstOverTime(w.t, w.v, w.start, w.end);
  return end > start ? v[start]! : undefined;
}

/** `ts_of_first_over_time` (experimental): timestamp in seconds of the oldest sample. */
export function tsOfFirstOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return tsOfFirstOverTime(w.t, w.v, w.start, w.end);
  return end > start ? t[start]! / 1000 : undefined;
}

/** `ts_of_last_over_time` (experimental): timestamp in seconds of the newest sample. */
export function tsOfLastOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return tsOfLastOverTime(w.t, w.v, w.start, w.end);
  return end > start ? t[end - 1]! / 1000 : undefined;
}

/**
 * Prometheus' `compareOverTime`: scan keeping the current best; a NaN best is always replaced, so
 * NaN only wins when every value is NaN. `orEqual` (for `ts_of_*`) makes later equal values win.
 */
function compareOverTime(t: Float64Array, v: Float64Array, start: number, end: number, wantMax: boolean, orEqual: boolean, returnTs: boolean): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return compareOverTime(w.t, w.v, w.start, w.end, wantMax, orEqual, returnTs);
  if (end <= start) return undefined;
  let best = v[start]!;
  let bestT = t[start]!;
  for (let i = start; i < end; i++) {
    const f = v[i]!;
    const better = wantMax ? (orEqual ? f >= best : f > best) : orEqual ? f <= best : f < best;
    if (better || best !== best) {
      best = f;
      bestT = t[i]!;
    }
  }
  return returnTs ? bestT / 1000 : best;
}

/** `max_over_time`: largest value; NaN only if all values are NaN. */
export function maxOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  return compareOverTime(t, v, start, end, true, false, false);
}

/** `min_over_time`: smallest value; NaN only if all values are NaN. */
export function minOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  return compareOverTime(t, v, start, end, false, false, false);
}

/** `ts_of_max_over_time` (experimental): time in seconds of the (last) maximum. */
export function tsOfMaxOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  return compareOverTime(t, v, start, end, true, true, true);
}

/** `ts_of_min_over_time` (experimental): time in seconds of the (last) minimum. */
export function tsOfMinOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  return compareOverTime(t, v, start, end, false, true, true);
}

const mean = createKahanState();
const aux = createKahanState();

/**
 * Population variance as Prometheus' `varianceOverTime`: Welford's algorithm with both the running
 * mean and the sum of squared deviations Kahan-compensated.
 */
export function stdvarOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return stdvarOverTime(w.t, w.v, w.start, w.end);
  if (end <= start) return undefined;
  mean.sum = mean.c = aux.sum = aux.c = 0;
  let count = 0;
  for (let i = start; i < end; i++) {
    const f = v[i]!;
    count++;
    const d = f - (mean.sum + mean.c);
    kahanAdd(mean, d / count);
    kahanAdd(aux, d * (f - (mean.sum + mean.c)));
  }
  return (aux.sum + aux.c) / count;
}

/** `stddev_over_time`: square root of {@link stdvarOverTime}. */
export function stddevOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const r = stdvarOverTime(t, v, start, end);
  return r === undefined ? undefined : Math.sqrt(r);
}

/**
 * `quantile_over_time(φ, v[r])`: the φ-quantile with linear interpolation between closest ranks
 * (φ < 0 → −Inf, φ > 1 → +Inf, NaN φ → NaN; the engine adds the "invalid quantile" warning).
 */
export function quantileOverTime(t: Float64Array, v: Float64Array, start: number, end: number, phi: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return quantileOverTime(w.t, w.v, w.start, w.end, phi);
  if (end <= start) return undefined;
  const n = end - start;
  const values = copyValues(v, start, end);
  return quantileSorted(phi, sortValuesNaNFirst(values, n), n);
}

/**
 * `mad_over_time` (experimental): median absolute deviation from the median. Any NaN sample makes
 * the result NaN.
 */
export function madOverTime(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return madOverTime(w.t, w.v, w.start, w.end);
  if (end <= start) return undefined;
  const n = end - start;
  for (let i = start; i < end; i++) if (v[i] !== v[i]) return NaN;
  const values = copyValues(v, start, end);
  sortValuesNaNFirst(values, n);
  const median = quantileSorted(0.5, values, n);
  for (let i = 0; i < n; i++) values[i] = Math.abs(values[i]! - median);
  sortValuesNaNFirst(values, n);
  return quantileSorted(0.5, values, n);
}

/**
 * `resets(v[r])`: number of decreases between consecutive samples (a NaN never counts). Zero for a
 * single sample; no result for an empty window.
 */
export function resets(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return resets(w.t, w.v, w.start, w.end);
  if (end <= start) return undefined;
  let n = 0;
  for (let i = start + 1; i < end; i++) if (v[i]! < v[i - 1]!) n++;
  return n;
}

/**
 * `changes(v[r])`: number of times the value changed between consecutive samples; NaN→NaN is not
 * a change, NaN↔number is.
 */
export function changes(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return changes(w.t, w.v, w.start, w.end);
  if (end <= start) return undefined;
  let n = 0;
  for (let i = start + 1; i < end; i++) {
    const a = v[i - 1]!;
    const b = v[i]!;
    if (a !== b && !(a !== a && b !== b)) n++;
  }
  return n;
}

/**
 * `double_exponential_smoothing(v[r], sf, tf)` (experimental; formerly `holt_winters`). Factors
 * must satisfy 0 < sf < 1 and 0 < tf < 1 — the caller validates and raises Prometheus' error
 * ("invalid smoothing factor. Expected: 0 < sf < 1, got: …"). No result with fewer than 2 samples.
 */
export function doubleExponentialSmoothing(t: Float64Array, v: Float64Array, start: number, end: number, sf: number, tf: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return doubleExponentialSmoothing(w.t, w.v, w.start, w.end, sf, tf);
  const l = end - start;
  if (l < 2) return undefined;
  let s0 = 0;
  let s1 = v[start]!;
  let b = v[start + 1]! - v[start]!;
  for (let i = 1; i < l; i++) {
    const x = sf * v[start + i]!;
    // Trend update (Prometheus' calcTrendValue; for i-1 == 0 it keeps the initial slope).
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}
