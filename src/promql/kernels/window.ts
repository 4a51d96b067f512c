/**
 * Shared plumbing for range-vector kernels. A window is an index range `[start, end)` into a
 * series' parallel `t`/`v` arrays, so kernels can run directly on decoder output without copying.
 * Prometheus never hands stale markers to range functions (`matrixIterSlice` drops them); to be
 * safe whatever the caller passes, kernels call {@link withoutStale} first, which returns the
 * window unchanged in the common case and otherwise compacts it into reusable scratch arrays.
 */
import { isStaleMarker } from "../../model/series.ts";

/** A window of samples: `t[start..end)` and `v[start..end)`. */
export interface Window {
  t: Float64Array;
  v: Float64Array;
  start: number;
  end: number;
}

let scratchT = new Float64Array(256);
let scratchV = new Float64Array(256);
const cleaned: Window = { t: scratchT, v: scratchV, start: 0, end: 0 };

/**
 * True when `v[start..end)` holds a stale marker. Fast path: only NaNs need the bit check.
 */
export function hasStale(v: Float64Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const x = v[i]!;
    if (x !== x && isStaleMarker(x)) return true;
  }
  return false;
}

/**
 * Returns a window over the same samples minus stale markers. The result aliases module scratch
 * memory when compaction was needed: use it before the next call.
 */
export function withoutStale(t: Float64Array, v: Float64Array, start: number, end: number): Window | undefined {
  if (!hasStale(v, start, end)) return undefined;
  const n = end - start;
  if (scratchT.length < n) {
    scratchT = new Float64Array(Math.max(n, scratchT.length * 2));
    scratchV = new Float64Array(scratchT.length);
  }
  let k = 0;
  for (let i = start; i < end; i++) {
    const x = v[i]!;
    if (x !== x && isStaleMarker(x)) continue;
    scratchT[k] = t[i]!;
    scratchV[k] = x;
    k++;
  }
  cleaned.t = scratchT;
  cleaned.v = scratchV;
  cleaned.start = 0;
  cleaned.end = k;
  return cleaned;
}

let valueScratch = new Float64Array(256);

/**
 * Copies `v[start..end)` into a reusable scratch array (for kernels that sort values, such as
 * quantiles) and returns it; the first `end - start` entries are valid.
 */
export function copyValues(v: Float64Array, start: number, end: number): Float64Array {
  const n = end - start;
  if (valueScratch.length < n) valueScratch = new Float64Array(Math.max(n, valueScratch.length * 2));
  valueScratch.set(v.subarray(start, end));
  return valueScratch;
}
