/**
 * Quantile helpers shared by `quantile` (aggregation), `quantile_over_time` and `mad_over_time`,
 * matching Prometheus' `quantile()` in promql/quantile.go: sort (NaNs first, as its `Less` treats
 * NaN as smaller than everything), then interpolate linearly between the two closest ranks at
 * `φ·(n−1)`.
 */

/**
 * Sorts `values[0..n)` in place ascending with NaNs first (Prometheus' order) and returns `values`.
 */
export function sortValuesNaNFirst(values: Float64Array, n: number): Float64Array {
  const part = values.subarray(0, n);
  part.sort(); // Typed-array sort is numeric with NaNs last.
  let nans = 0;
  while (nans < n && part[n - 1 - nans] !== part[n - 1 - nans]) nans++;
  if (nans > 0 && nans < n) {
    part.copyWithin(nans, 0, n - nans);
    part.fill(NaN, 0, nans);
  }
  return values;
}

/**
 * φ-quantile of the already sorted `values[0..n)`: NaN for no values or NaN φ, −Inf for φ < 0,
 * +Inf for φ > 1, else `v[⌊r⌋]·(1−w) + v[⌊r⌋+1]·w` with `r = φ(n−1)`, `w = r − ⌊r⌋`.
 */
export function quantileSorted(phi: number, values: ArrayLike<number>, n: number): number {
  if (n === 0 || phi !== phi) return NaN;
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  const rank = phi * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return values[lowerIndex]! * (1 - weight) + values[upperIndex]! * weight;
}

/**
 * φ-quantile of arbitrary values (copied, not modified), Prometheus semantics as in
 * {@link quantileSorted}. Convenience for aggregation over a group's collected values.
 */
export function quantileOf(phi: number, values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0 || phi !== phi) return NaN;
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  const copy = Float64Array.from(values);
  return quantileSorted(phi, sortValuesNaNFirst(copy, n), n);
}
