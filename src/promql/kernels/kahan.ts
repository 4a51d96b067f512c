/**
 * Kahan–Neumaier compensated summation exactly as Prometheus' `util/kahansum.Inc`, which the
 * engine uses for `sum`, `avg`, `sum_over_time`, `avg_over_time`, `stddev*` and linear regression.
 * Matching the algorithm step by step matters: PromQL test expectations are computed with it, and
 * naive summation differs in the last bits (and sometimes by much more, e.g. `1e100 + 1 - 1e100`).
 */

/** Running compensated sum: `sum` is the rounded total, `c` the accumulated rounding error. */
export interface KahanState {
  sum: number;
  c: number;
}

/** A fresh state with sum 0 and no compensation. */
export function createKahanState(): KahanState {
  return { sum: 0, c: 0 };
}

/**
 * Adds `inc` to `state` in place (Neumaier variant: the larger operand decides how the lost low
 * bits are recovered). When the new sum overflows to ±Inf the compensation is reset to 0, as
 * Prometheus does, so that `sum + c` stays ±Inf instead of becoming NaN.
 */
export function kahanAdd(state: KahanState, inc: number): void {
  const sum = state.sum;
  const t = sum + inc;
  if (t > Number.MAX_VALUE || t < -Number.MAX_VALUE) state.c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) state.c += sum - t + inc;
  else state.c += inc - t + sum;
  state.sum = t;
}

/** The compensated total `sum + c` (what Prometheus returns at the end of a summation). */
export function kahanResult(state: KahanState): number {
  return state.sum + state.c;
}
