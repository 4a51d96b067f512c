/**
 * `max_over_time` / `min_over_time` over windows that only move forward (range queries without
 * `@`): a monotonic deque gives each step's extremum in amortised O(1) instead of rescanning the
 * window. Results equal Prometheus' scan exactly: NaNs lose against any number (NaN only when the
 * window holds nothing else), the earliest of equal values wins (so -0/+0 keep their order), and
 * stale markers are not samples.
 */
import { isStaleMarker } from "../model/series.ts";

let scratch = new Int32Array(1024);

/** Per-series state; call {@link SlidingExtremum.at} with non-decreasing `lo`/`hi`. */
export interface SlidingExtremum {
  at(v: Float64Array, lo: number, hi: number): number | undefined;
}

/** Creates the state for one series of `len` samples. */
export function createSlidingExtremum(max: boolean, len: number): SlidingExtremum {
  if (scratch.length < len) scratch = new Int32Array(Math.max(len, scratch.length * 2));
  const dq = scratch;
  let head = 0;
  let tail = 0;
  let added = 0;
  let removed = 0;
  let numbers = 0;
  let nans = 0;
  return {
    at(v, lo, hi) {
      for (; added < hi; added++) {
        const x = v[added]!;
        if (x !== x) {
          if (!isStaleMarker(x)) nans++;
          continue;
        }
        numbers++;
        while (tail > head && (max ? v[dq[tail - 1]!]! < x : v[dq[tail - 1]!]! > x)) tail--;
        dq[tail++] = added;
      }
      for (; removed < lo; removed++) {
        const x = v[removed]!;
        if (x !== x) {
          if (!isStaleMarker(x)) nans--;
          continue;
        }
        numbers--;
        if (tail > head && dq[head] === removed) head++;
      }
      if (numbers > 0) return v[dq[head]!]!;
      return nans > 0 ? NaN : undefined;
    },
  };
}
