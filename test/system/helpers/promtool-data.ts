/**
 * Deterministic test series for the promtool/Prometheus system tests: jittered 15 s gauges and
 * counters across 2 h block boundaries, special floats (NaN, ±Inf, -0, subnormals, 1e±300), odd
 * label values, sparse series with big gaps, and (for Meridian-written blocks) stale markers.
 */
import { labelsFromRecord } from "../../../src/model/labels.ts";
import { STALE_NAN, type FloatSeries } from "../../../src/model/series.ts";
import { createPrng } from "../../../src/demo/prng.ts";

/** Small seeded PRNG (mulberry32) so failures reproduce. */
export const rng = createPrng;

/**
 * Builds a FloatSeries keeping the exact bits of every value. V8 canonicalises NaN payloads in
 * plain JS number arrays, so stale markers are given as indices and stored into the typed array
 * directly (a direct typed-array store keeps the bits).
 */
function series(labels: Record<string, string>, t: number[], v: number[], staleAt: readonly number[] = []): FloatSeries {
  const values = Float64Array.from(v);
  for (const i of staleAt) values[i] = STALE_NAN;
  return { labels: labelsFromRecord(labels), t: Float64Array.from(t), v: values };
}

/**
 * The test data set starting at `start` (ms) over `hours`. With `stale` set, some series end in a
 * stale marker and one gets stale markers in the middle (only Meridian's writer can store those;
 * OpenMetrics cannot express them).
 */
export function makeTestSeries(start: number, hours: number, seed: number, stale: boolean): FloatSeries[] {
  const r = rng(seed);
  const end = start + hours * 3600_000;
  const out: FloatSeries[] = [];
  for (let k = 0; k < 4; k++) {
    const t: number[] = [];
    const v: number[] = [];
    let x = 100 * k;
    for (let ts = start + k * 1000; ts < end; ts += 15_000 + Math.floor(r() * 200) - 100) {
      t.push(ts);
      x = Math.round((x + (r() - 0.5) * 10) * 100) / 100;
      v.push(x);
    }
    const staleAt: number[] = [];
    if (stale) {
      t.push(t[t.length - 1]! + 15_000);
      v.push(0);
      staleAt.push(t.length - 1);
    }
    out.push(series({ __name__: "sys_gauge", instance: `host-${k}:9100`, job: "node" }, t, v, staleAt));
  }
  {
    const t: number[] = [];
    const v: number[] = [];
    let c = 0;
    const staleAt: number[] = [];
    for (let ts = start; ts < end; ts += 15_000) {
      t.push(ts);
      c = t.length === 400 ? 3 : c + Math.floor(r() * 20); // one counter reset
      v.push(c);
      if (stale && t.length % 300 === 0) {
        t.push(ts + 7_500);
        v.push(0);
        staleAt.push(t.length - 1);
      }
    }
    out.push(series({ __name__: "sys_requests_total", code: "200", handler: "/api/v1/query" }, t, v, staleAt));
  }
  {
    const specials = [NaN, Infinity, -Infinity, -0, 0, 5e-324, 2.2250738585072014e-308, 1e300, -1e-300, 1.7976931348623157e308, 0.1, 1e21, 1e-7];
    const t = specials.map((_, i) => start + i * 60_000);
    out.push(series({ __name__: "sys_special", kind: "floats" }, t, specials));
  }
  {
    // Big gaps and an irregular tail: exercises wide delta-of-delta buckets and the 4h chunk range.
    const t = [start + 1, start + 2, start + 3_600_000, start + 3_600_001, end - 5];
    out.push(series({ __name__: "sys_sparse", le: "+Inf" }, t, [1, 2, 3, 4, 5]));
  }
  out.push(series({ __name__: "sys_one", odd: 'quote " backslash \\ unicode é ✓ {x="y"}' }, [start + 42], [42.5]));
  return out;
}
