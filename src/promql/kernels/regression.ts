/**
 * Least-squares kernels `deriv` and `predict_linear`, following Prometheus' `linearRegression`:
 * x is seconds relative to an intercept time (to keep the numbers small), sums are Kahan-compensated,
 * and a constant series short-circuits to slope 0 (or NaN for a constant ±Inf) so that rounding
 * noise never produces a tiny non-zero slope.
 */
import { createKahanState, kahanAdd } from "./kahan.ts";
import { withoutStale } from "./window.ts";

const sx = createKahanState();
const sy = createKahanState();
const sxy = createKahanState();
const sx2 = createKahanState();

/** Slope (per second) and intercept (value at `interceptTimeMs`) of the least-squares line. */
export interface Regression {
  slope: number;
  intercept: number;
}

/**
 * Fits `v ≈ slope·(t − interceptTimeMs)/1000 + intercept` over the window. Needs ≥ 1 sample; callers
 * require 2. The returned object is reused by the next call.
 */
export function linearRegression(t: Float64Array, v: Float64Array, start: number, end: number, interceptTimeMs: number, out: Regression = { slope: 0, intercept: 0 }): Regression {
  sx.sum = sx.c = sy.sum = sy.c = sxy.sum = sxy.c = sx2.sum = sx2.c = 0;
  let n = 0;
  const initY = v[start]!;
  let constY = true;
  for (let i = start; i < end; i++) {
    const y = v[i]!;
    if (constY && i > start && y !== initY) constY = false;
    n += 1;
    const x = (t[i]! - interceptTimeMs) / 1e3;
    kahanAdd(sx, x);
    kahanAdd(sy, y);
    kahanAdd(sxy, x * y);
    kahanAdd(sx2, x * x);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) {
      out.slope = NaN;
      out.intercept = NaN;
    } else {
      out.slope = 0;
      out.intercept = initY;
    }
    return out;
  }
  const sumX = sx.sum + sx.c;
  const sumY = sy.sum + sy.c;
  const sumXY = sxy.sum + sxy.c;
  const sumX2 = sx2.sum + sx2.c;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  out.slope = covXY / varX;
  out.intercept = sumY / n - (out.slope * sumX) / n;
  return out;
}

const scratch: Regression = { slope: 0, intercept: 0 };

/** `deriv(v[r])`: per-second slope of the regression line; no result with fewer than 2 samples. */
export function deriv(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return deriv(w.t, w.v, w.start, w.end);
  if (end - start < 2) return undefined;
  // Intercept at the first sample's time keeps x small (prometheus/prometheus#2674).
  return linearRegression(t, v, start, end, t[start]!, scratch).slope;
}

/**
 * `predict_linear(v[r], seconds)`: the regression line's value `seconds` after the evaluation
 * time `evalTimeMs` (Prometheus intercepts at the step time, not at the range end, which matters
 * with `offset`). No result with fewer than 2 samples.
 */
export function predictLinear(t: Float64Array, v: Float64Array, start: number, end: number, seconds: number, evalTimeMs: number): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return predictLinear(w.t, w.v, w.start, w.end, seconds, evalTimeMs);
  if (end - start < 2) return undefined;
  const r = linearRegression(t, v, start, end, evalTimeMs, scratch);
  return r.slope * seconds + r.intercept;
}
