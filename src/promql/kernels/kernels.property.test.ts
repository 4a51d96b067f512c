import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DATE_KERNELS,
  avgOverTime,
  bucketQuantile,
  createFloatAggregator,
  increase,
  maxOverTime,
  minOverTime,
  quantileOf,
  rate,
  stdvarOverTime,
  sumOverTime,
} from "./index.ts";

const f = (xs: number[]) => Float64Array.from(xs);
const ts = (n: number, step = 15_000) => f(Array.from({ length: n }, (_, i) => (i + 1) * step));

describe("kernel properties", () => {
  it("rate of a linear counter sampled across the whole range is its slope", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 200 }), fc.double({ min: 0.001, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (n, slope, base) => {
        const t = ts(n);
        const v = f(Array.from(t, (x) => base + (slope * x) / 1000));
        // Range (0, n·15 s]: first sample one spacing after the start, last at the end.
        const r = rate(t, v, 0, n, 0, n * 15_000)!;
        // The start is extrapolated to at most the zero point of the counter.
        const zeroCut = Math.min(15, (base + (slope * 15_000) / 1000) / slope);
        const expected = (slope * ((n - 1) * 15 + zeroCut)) / (n * 15);
        expect(Math.abs(r - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
      }),
    );
  });

  it("increase of non-negative counter samples is never negative, resets included", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e12, noNaN: true }), { minLength: 2, maxLength: 100 }), fc.integer({ min: 0, max: 3_600_000 }), (vals, slack) => {
        const t = ts(vals.length);
        const r = increase(t, f(vals), 0, vals.length, -slack, vals.length * 15_000 + slack)!;
        expect(r).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it("sum_over_time is exact for integers and avg lies between min and max", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 300 }), (vals) => {
        const t = ts(vals.length);
        const v = f(vals);
        expect(sumOverTime(t, v, 0, vals.length)).toBe(vals.reduce((a, b) => a + b, 0));
        const avg = avgOverTime(t, v, 0, vals.length)!;
        expect(avg).toBeGreaterThanOrEqual(minOverTime(t, v, 0, vals.length)! - 1e-6);
        expect(avg).toBeLessThanOrEqual(maxOverTime(t, v, 0, vals.length)! + 1e-6);
      }),
    );
  });

  it("variance over time matches the two-pass formula and the aggregation operator", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }), (vals) => {
        const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
        const twoPass = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
        const got = stdvarOverTime(ts(vals.length), f(vals), 0, vals.length)!;
        const tol = 1e-9 * Math.max(1, twoPass, mean * mean);
        expect(Math.abs(got - twoPass)).toBeLessThanOrEqual(tol);
        const agg = createFloatAggregator("stdvar");
        for (const x of vals) agg.add(x);
        expect(Math.abs(agg.result() - twoPass)).toBeLessThanOrEqual(tol);
      }),
    );
  });

  it("quantiles are monotone in φ and bounded by the data", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (vals, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const qa = quantileOf(lo, vals);
        const qb = quantileOf(hi, vals);
        expect(qa).toBeLessThanOrEqual(qb + 1e-6 * Math.max(1, Math.abs(qb)));
        expect(qa).toBeGreaterThanOrEqual(Math.min(...vals) - 1e-6 * Math.max(1, Math.abs(qa)));
        expect(qb).toBeLessThanOrEqual(Math.max(...vals) + 1e-6 * Math.max(1, Math.abs(qb)));
      }),
    );
  });

  it("classic histogram_quantile is monotone in φ and stays within the finite bucket bounds", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 }), fc.double({ min: 1e-9, max: 1, noNaN: true }), fc.double({ min: 1e-9, max: 1, noNaN: true }), (increments, a, b) => {
        // φ = 0 with an empty first bucket gives 0/0 = NaN in Prometheus too, so φ starts above 0.
        let cum = 0;
        const buckets = increments.map((inc, i) => ({ upperBound: 2 ** i, count: (cum += inc) }));
        buckets.push({ upperBound: Infinity, count: cum + 5 });
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const qa = bucketQuantile(lo, buckets).value;
        const qb = bucketQuantile(hi, buckets).value;
        expect(qa).toBeLessThanOrEqual(qb);
        expect(qa).toBeGreaterThanOrEqual(0);
        expect(qb).toBeLessThanOrEqual(2 ** (increments.length - 1));
      }),
    );
  });

  it("date functions agree with the UTC calendar of Date", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_000_000_000, max: 250_000_000_000 }), (s) => {
        const d = new Date(s * 1000);
        expect(DATE_KERNELS.year!(s)).toBe(d.getUTCFullYear());
        expect(DATE_KERNELS.month!(s)).toBe(d.getUTCMonth() + 1);
        expect(DATE_KERNELS.day_of_month!(s)).toBe(d.getUTCDate());
        expect(DATE_KERNELS.day_of_week!(s)).toBe(d.getUTCDay());
        expect(DATE_KERNELS.hour!(s)).toBe(d.getUTCHours());
        expect(DATE_KERNELS.minute!(s)).toBe(d.getUTCMinutes());
        // Date.UTC maps years 0–99 to 19xx, so build the year start with setUTCFullYear.
        const y0 = new Date(0);
        y0.setUTCFullYear(d.getUTCFullYear(), 0, 1);
        const startOfYear = y0.getTime() / 1000;
        expect(DATE_KERNELS.day_of_year!(s)).toBe(Math.floor((Math.floor(s / 86400) * 86400 - startOfYear) / 86400) + 1);
        const lastDay = new Date(0);
        lastDay.setUTCFullYear(d.getUTCFullYear(), d.getUTCMonth() + 1, 0);
        expect(DATE_KERNELS.days_in_month!(s)).toBe(lastDay.getUTCDate());
      }),
    );
  });
});
