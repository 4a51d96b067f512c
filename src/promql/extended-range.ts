/**
 * Prometheus' experimental extended range selectors (`promql-extended-range-selectors`) for float
 * samples: `anchored` (the window also takes the last sample at or before its start, so
 * `increase` sees the full change) and `smoothed` (values at the window edges are interpolated
 * between neighbouring samples). Both look up to one lookback delta beyond the range. Windows are
 * index ranges `[lo, hi)` into stale-free `t`/`v` arrays.
 */

import { isStaleMarker } from "../model/series.ts";

/** Functions that accept `anchored`, as Prometheus lists them in its errors. */
export const ANCHORED_SAFE = ["changes", "delta", "increase", "rate", "resets"];
/** Functions that accept `smoothed`. */
export const SMOOTHED_SAFE = ["delta", "increase", "rate"];

/** Index of the first element in `t[lo..hi)` with `pred` true (Go's sort.Search over `n` elements). */
function search(t: Float64Array, lo: number, n: number, pred: (x: number) => boolean): number {
  let a = 0;
  let b = n;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (!pred(t[lo + m]!)) a = m + 1;
    else b = m;
  }
  return a;
}

function interpolate(t1: number, v1: number, t2: number, v2: number, t: number, isCounter: boolean): number {
  let y1 = v1;
  if (isCounter && v2 < y1) y1 = 0;
  return y1 + ((v2 - y1) * (t - t1)) / (t2 - t1);
}

/**
 * Prometheus `extendedRate`: rate/increase/delta over an anchored or smoothed window. `lo..hi` is
 * the extended window; `rangeStart`/`rangeEnd` the nominal range.
 */
export function extendedRate(
  t: Float64Array, v: Float64Array, lo: number, hi: number, rangeStart: number, rangeEnd: number,
  smoothed: boolean, isCounter: boolean, isRate: boolean, rangeSeconds: number,
): number | undefined {
  const n = hi - lo;
  if (n === 0) return undefined;
  let last = n - 1;
  let first = Math.max(0, search(t, lo, last, (x) => x > rangeStart) - 1);
  if (smoothed) last = search(t, lo, last, (x) => x >= rangeEnd);
  if (t[lo + last]! <= rangeStart) return undefined;
  if (smoothed && t[lo + first]! > rangeEnd) return undefined;
  const left = smoothed && t[lo + first]! < rangeStart
    ? interpolate(t[lo + first]!, v[lo + first]!, t[lo + first + 1]!, v[lo + first + 1]!, rangeStart, isCounter)
    : v[lo + first]!;
  const right = smoothed && last > 0 && t[lo + last]! > rangeEnd
    ? interpolate(t[lo + last - 1]!, v[lo + last - 1]!, t[lo + last]!, v[lo + last]!, rangeEnd, isCounter)
    : v[lo + last]!;
  let result = right - left;
  if (isCounter) {
    if (t[lo + first]! <= rangeStart) first++;
    if (t[lo + last]! >= rangeEnd) last--;
    let correction = 0;
    let prev = left;
    for (let i = first; i <= last; i++) {
      const x = v[lo + i]!;
      if (x < prev) correction += prev;
      prev = x;
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (isRate) result /= rangeSeconds;
  return result;
}

/**
 * Start index for anchored `changes`/`resets`: the last sample at or before `rangeStart` when
 * there is one; -1 when no sample lies after `rangeStart` (no result).
 */
export function anchoredStart(t: Float64Array, lo: number, hi: number, rangeStart: number): number {
  const k = search(t, lo, hi - lo, (x) => x > rangeStart);
  if (lo + k >= hi) return -1;
  return k > 0 ? lo + k - 1 : lo;
}

/** `x smoothed` at one step: the sample at `ts`, else interpolated between neighbours, else the previous sample. */
export function smoothedValue(t: Float64Array, v: Float64Array, lo: number, hi: number, ts: number): number | undefined {
  const n = hi - lo;
  if (n === 0) return undefined;
  const i = search(t, lo, n, (x) => x >= ts);
  if (i < n && t[lo + i] === ts) return v[lo + i]!;
  if (i > 0 && i < n) return interpolate(t[lo + i - 1]!, v[lo + i - 1]!, t[lo + i]!, v[lo + i]!, ts, false);
  if (i > 0) return v[lo + i - 1]!;
  return undefined;
}

/** Prometheus `extendFloats`: the samples of an anchored/smoothed matrix selector with boundary points added. */
export function extendFloats(
  t: Float64Array, v: Float64Array, mint: number, maxt: number, smoothed: boolean,
): { t: number[]; v: number[] } {
  const n = t.length;
  if (n === 0) return { t: [], v: [] };
  let last = n - 1;
  let first = Math.max(0, search(t, 0, last, (x) => x > mint) - 1);
  if (smoothed) last = search(t, 0, last, (x) => x >= maxt);
  if (t[last]! <= mint) return { t: [], v: [] };
  const left = smoothed && t[first]! < mint ? interpolate(t[first]!, v[first]!, t[first + 1]!, v[first + 1]!, mint, false) : v[first]!;
  const right = smoothed && last > 0 && t[last]! > maxt ? interpolate(t[last - 1]!, v[last - 1]!, t[last]!, v[last]!, maxt, false) : v[last]!;
  if (t[first]! <= mint) first++;
  if (t[last]! >= maxt) last--;
  const ot = [mint];
  const ov = [left];
  for (let i = first; i <= last; i++) {
    ot.push(t[i]!);
    ov.push(v[i]!);
  }
  ot.push(maxt);
  ov.push(right);
  return { t: ot, v: ov };
}

/** Copies of `t`/`v` without stale markers (the inputs themselves when there are none). */
export function withoutStaleMarkers(t: Float64Array, v: Float64Array): { t: Float64Array; v: Float64Array } {
  let stale = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x !== x && isStaleMarker(x)) stale++;
  }
  if (stale === 0) return { t, v };
  const ot = new Float64Array(t.length - stale);
  const ov = new Float64Array(t.length - stale);
  let k = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x !== x && isStaleMarker(x)) continue;
    ot[k] = t[i]!;
    ov[k] = x;
    k++;
  }
  return { t: ot, v: ov };
}
