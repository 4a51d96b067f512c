/**
 * Rate-family range kernels: `rate`, `increase`, `delta` (Prometheus 3 `extrapolatedRate`) and
 * `irate`, `idelta` (`instantValue`). Inputs are a window `[start, end)` of one series' samples,
 * already restricted by the engine to the left-open range `(rangeStartMs, rangeEndMs]`; the range
 * bounds are needed for extrapolation. `undefined` means "no output sample for this series".
 */
import { isStaleMarker } from "../../model/series.ts";
import { withoutStale } from "./window.ts";

/**
 * The shared body of `rate`/`increase`/`delta`, following Prometheus 3 `extrapolatedRate` for
 * floats (without the experimental start-timestamp and anchored/smoothed variants):
 * - fewer than 2 samples → no result;
 * - for counters, every decrease between neighbours is a reset: the value before it is added back;
 * - the difference between last and first sample is extrapolated towards both range ends, but
 *   only all the way when the gap to the boundary is below 1.1× the average sample spacing;
 *   otherwise by half an average spacing (the series presumably starts/ends inside the range);
 * - counters are not extrapolated below zero: the start extrapolation is cut at the point where a
 *   straight line through the samples would reach zero (only when the first value is ≥ 0 and the
 *   result is positive);
 * - `isRate` divides by the range length in seconds (`rangeEndMs - rangeStartMs`), not by the
 *   sampled interval.
 */
export function extrapolatedRate(
  t: Float64Array,
  v: Float64Array,
  start: number,
  end: number,
  rangeStartMs: number,
  rangeEndMs: number,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return extrapolatedRate(w.t, w.v, w.start, w.end, rangeStartMs, rangeEndMs, isCounter, isRate);
  const n = end - start;
  if (n < 2) return undefined;
  let result = v[end - 1]! - v[start]!;
  if (isCounter) {
    let prev = v[start]!;
    for (let i = start + 1; i < end; i++) {
      const cur = v[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  return extrapolate(t, v, start, end, result, rangeStartMs, rangeEndMs, isCounter, isRate);
}

/**
 * The extrapolation half of {@link extrapolatedRate}, given the window's (reset-corrected) raw
 * `result`. Shared by the per-window kernel and {@link RateScanner} so both do the same float
 * operations in the same order (bit-identical results).
 */
function extrapolate(
  t: Float64Array,
  v: Float64Array,
  start: number,
  end: number,
  result: number,
  rangeStartMs: number,
  rangeEndMs: number,
  isCounter: boolean,
  isRate: boolean,
): number {
  const n = end - start;
  const firstT = t[start]!;
  const lastT = t[end - 1]!;
  let durationToStart = (firstT - rangeStartMs) / 1000;
  let durationToEnd = (rangeEndMs - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    const first = v[start]!;
    if (result > 0 && first >= 0) durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = 1;
  if (sampledInterval !== 0) factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (rangeEndMs - rangeStartMs) / 1000;
  return result * factor;
}

// Positions of "marks" of the series being scanned; reused across series (one scan at a time).
let markScratch = new Int32Array(64);

/**
 * `rate`/`increase`/`delta` over forward-moving windows of ONE series in O(1) per window. The
 * per-window kernel scans every window for stale markers and counter resets (O(window) per step);
 * here the series is scanned once for "marks" (a stale marker at i, or for counters a decrease
 * from i-1 to i) and a window `[lo, hi)` without a mark in it is computed directly: its result is
 * `v[hi-1] - v[lo]` with nothing added, exactly what the loop would produce. Windows holding a
 * mark take the per-window kernel. Results are bit-identical to {@link extrapolatedRate}.
 *
 * `lo` must not decrease between calls of {@link RateScanner.at}; create one scanner per series
 * and finish with it before creating the next (marks live in shared scratch memory).
 */
export class RateScanner {
  private readonly marks: Int32Array;
  private readonly count: number;
  private p = 0;

  constructor(
    private readonly t: Float64Array,
    private readonly v: Float64Array,
    private readonly isCounter: boolean,
    private readonly isRate: boolean,
  ) {
    let k = 0;
    let marks = markScratch;
    const len = v.length;
    let prev = len > 0 ? v[0]! : 0;
    for (let i = 0; i < len; i++) {
      const x = v[i]!;
      // A stale marker is a NaN; a decrease is never NaN-involved (comparisons with NaN are false).
      if ((x !== x && isStaleMarker(x)) || (isCounter && x < prev)) {
        if (k === marks.length) {
          const grown = new Int32Array(marks.length * 2);
          grown.set(marks);
          marks = markScratch = grown;
        }
        marks[k++] = i;
      }
      prev = x;
    }
    this.marks = marks;
    this.count = k;
  }

  /** The kernel's value for the window `[lo, hi)` of range `(rangeStartMs, rangeEndMs]`. */
  at(lo: number, hi: number, rangeStartMs: number, rangeEndMs: number): number | undefined {
    const marks = this.marks;
    let p = this.p;
    while (p < this.count && marks[p]! < lo) p++;
    this.p = p;
    if (p < this.count && marks[p]! < hi) {
      return extrapolatedRate(this.t, this.v, lo, hi, rangeStartMs, rangeEndMs, this.isCounter, this.isRate);
    }
    if (hi - lo < 2) return undefined;
    return extrapolate(this.t, this.v, lo, hi, this.v[hi - 1]! - this.v[lo]!, rangeStartMs, rangeEndMs, this.isCounter, this.isRate);
  }
}

/** `rate(v[r])`: per-second average increase of a counter, extrapolated (see {@link extrapolatedRate}). */
export function rate(t: Float64Array, v: Float64Array, start: number, end: number, rangeStartMs: number, rangeEndMs: number): number | undefined {
  return extrapolatedRate(t, v, start, end, rangeStartMs, rangeEndMs, true, true);
}

/** `increase(v[r])`: total counter increase over the range, extrapolated; equals `rate × range`. */
export function increase(t: Float64Array, v: Float64Array, start: number, end: number, rangeStartMs: number, rangeEndMs: number): number | undefined {
  return extrapolatedRate(t, v, start, end, rangeStartMs, rangeEndMs, true, false);
}

/** `delta(v[r])`: gauge difference first→last, extrapolated to the range, without reset handling. */
export function delta(t: Float64Array, v: Float64Array, start: number, end: number, rangeStartMs: number, rangeEndMs: number): number | undefined {
  return extrapolatedRate(t, v, start, end, rangeStartMs, rangeEndMs, false, false);
}

/**
 * `irate`/`idelta` body (Prometheus `instantValue`): uses only the last two samples. No result with
 * fewer than two samples or when both share a timestamp. For `irate`, a decrease is a counter reset
 * and the newer value itself is the increase; the result is per second over the two samples'
 * distance. NaN values propagate (a NaN never counts as a reset).
 */
export function instantValue(t: Float64Array, v: Float64Array, start: number, end: number, isRate: boolean): number | undefined {
  const w = withoutStale(t, v, start, end);
  if (w) return instantValue(w.t, w.v, w.start, w.end, isRate);
  if (end - start < 2) return undefined;
  const t0 = t[end - 2]!;
  const t1 = t[end - 1]!;
  const v0 = v[end - 2]!;
  const v1 = v[end - 1]!;
  const sampledInterval = t1 - t0;
  if (sampledInterval === 0) return undefined;
  let result = v1;
  if (!isRate || !(v1 < v0)) result = v1 - v0;
  if (isRate) result /= sampledInterval / 1000;
  return result;
}

/** `irate(v[r])`: per-second rate between the last two samples, reset-aware. */
export function irate(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  return instantValue(t, v, start, end, true);
}

/** `idelta(v[r])`: difference between the last two samples (no reset handling, not per second). */
export function idelta(t: Float64Array, v: Float64Array, start: number, end: number): number | undefined {
  return instantValue(t, v, start, end, false);
}
