import { describe, expect, it } from "vitest";
import { STALE_NAN } from "../../model/series.ts";
import {
  DATE_KERNELS,
  RANGE_KERNELS,
  UNARY_KERNELS,
  avgOverTime,
  bucketFraction,
  bucketQuantile,
  changes,
  clamp,
  clampValid,
  createFloatAggregator,
  createKahanState,
  deriv,
  doubleExponentialSmoothing,
  idelta,
  increase,
  irate,
  kahanAdd,
  kahanResult,
  madOverTime,
  maxOverTime,
  predictLinear,
  quantileOf,
  quantileOverTime,
  rate,
  resets,
  round,
  stddevOverTime,
  sumOverTime,
} from "./index.ts";

const f = (xs: number[]) => Float64Array.from(xs);

describe("rate family", () => {
  // Counter 10,20,...,50 at 60..300 s, window (0, 300 s].
  const t = f([60e3, 120e3, 180e3, 240e3, 300e3]);
  const v = f([10, 20, 30, 40, 50]);
  it("extrapolates to the range start when the gap is below 1.1 × the spacing", () => {
    expect(increase(t, v, 0, 5, 0, 300e3)).toBeCloseTo(50, 12);
    expect(rate(t, v, 0, 5, 0, 300e3)).toBeCloseTo(50 / 300, 12);
  });
  it("extrapolates only half a spacing when the series starts late, and not below zero", () => {
    // Window (0, 600 s]: gap to end 300 s ≥ 66 s → 30 s; zero point at 60 s before first sample.
    expect(increase(t, v, 0, 5, 0, 600e3)).toBeCloseTo((40 * (240 + 60 + 30)) / 240, 12);
    const v2 = f([100, 110, 120, 130, 140]);
    // Zero point is far away: start gap 60 s < 66 s kept fully.
    expect(increase(t, v2, 0, 5, 0, 300e3)).toBeCloseTo((40 * 300) / 240, 12);
  });
  it("adds back the value before a counter reset", () => {
    const t2 = f([10e3, 20e3, 30e3]);
    const v2 = f([10, 20, 5]);
    expect(increase(t2, v2, 0, 3, 0, 30e3)).toBeCloseTo(22.5, 12);
    expect(RANGE_KERNELS.delta!(t2, v2, 0, 3, 0, 30e3)).toBeCloseTo(-7.5, 12);
    expect(irate(t2, v2, 0, 3)).toBe(0.5);
    expect(idelta(t2, v2, 0, 3)).toBe(-15);
    expect(resets(t2, v2, 0, 3)).toBe(1);
  });
  it("needs two samples and ignores stale markers", () => {
    expect(rate(t, v, 0, 1, 0, 300e3)).toBeUndefined();
    expect(irate(t, v, 4, 5)).toBeUndefined();
    const ts = f([60e3, 90e3, 120e3, 180e3, 240e3, 300e3]);
    const vs = f([10, 0, 20, 30, 40, 50]);
    vs[1] = STALE_NAN;
    expect(rate(ts, vs, 0, 6, 0, 300e3)).toBeCloseTo(50 / 300, 12);
    expect(resets(ts, vs, 0, 6)).toBe(0);
  });
});

describe("regression", () => {
  const t = f([10e3, 20e3, 30e3]);
  const v = f([20, 40, 60]);
  it("computes slope and prediction from the evaluation time", () => {
    expect(deriv(t, v, 0, 3)).toBeCloseTo(2, 12);
    expect(predictLinear(t, v, 0, 3, 10, 30e3)).toBeCloseTo(80, 10);
    expect(predictLinear(t, v, 0, 3, 0, 40e3)).toBeCloseTo(80, 10);
  });
  it("gives slope 0 for constant series and NaN for constant infinities", () => {
    expect(deriv(t, f([3, 3, 3]), 0, 3)).toBe(0);
    expect(deriv(t, f([Infinity, Infinity, Infinity]), 0, 3)).toBeNaN();
    expect(deriv(t, v, 0, 1)).toBeUndefined();
  });
});

describe("over-time kernels", () => {
  const t = f([1, 2, 3, 4]);
  it("sums with compensation and averages without overflow", () => {
    expect(sumOverTime(f([0, 0, 0]), f([1e100, 1, -1e100]), 0, 3)).toBe(1);
    const big = Number.MAX_VALUE;
    expect(avgOverTime(f([1, 2, 3]), f([big, big, big]), 0, 3)! / big).toBeCloseTo(1, 12);
    expect(avgOverTime(t, f([1, 2, 3, 4]), 0, 4)).toBe(2.5);
    expect(avgOverTime(t, f([1, 2, 3, 4]), 2, 2)).toBeUndefined();
  });
  it("treats NaN in min/max as replaceable and in changes as equal to NaN", () => {
    expect(maxOverTime(t, f([NaN, 1, 5, 2]), 0, 4)).toBe(5);
    expect(maxOverTime(t, f([NaN, NaN]), 0, 2)).toBeNaN();
    expect(changes(t, f([NaN, NaN, 1, 1]), 0, 4)).toBe(1);
  });
  it("computes quantiles, mad and deviation", () => {
    expect(quantileOverTime(t, f([4, 1, 3, 2]), 0, 4, 0.5)).toBe(2.5);
    expect(quantileOverTime(t, f([4, 1, 3, 2]), 0, 4, -1)).toBe(-Infinity);
    expect(quantileOverTime(t, f([4, 1, 3, 2]), 0, 4, 2)).toBe(Infinity);
    expect(madOverTime(t, f([1, 2, 3, 10]), 0, 4)).toBe(1);
    expect(madOverTime(t, f([1, NaN]), 0, 2)).toBeNaN();
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(stddevOverTime(f(xs.map((_, i) => i)), f(xs), 0, 8)).toBeCloseTo(2, 12);
  });
  it("smooths with the double exponential method", () => {
    // sf=0.5, tf=0.5 over 0,1,2: s1=0,b=1; i=1: s1=0.5*1+0.5*(0+1)=1; i=2: b=0.5*(1-0)+0.5*1=1, s1=0.5*2+0.5*(1+1)=2.
    expect(doubleExponentialSmoothing(f([0, 1, 2]), f([0, 1, 2]), 0, 3, 0.5, 0.5)).toBe(2);
  });
});

describe("element-wise and date kernels", () => {
  it("follows Prometheus' sgn, round and clamp", () => {
    expect(UNARY_KERNELS.sgn!(-3)).toBe(-1);
    expect(UNARY_KERNELS.sgn!(NaN)).toBeNaN();
    expect(round(2.5)).toBe(3);
    expect(round(-2.5)).toBe(-2);
    expect(round(12.34, 0.1)).toBeCloseTo(12.3, 12);
    expect(clamp(5, 0, 3)).toBe(3);
    expect(clamp(NaN, 0, 3)).toBeNaN();
    expect(clampValid(5, 1)).toBe(false);
  });
  it("breaks Unix seconds into UTC calendar fields", () => {
    const s = 1136239445; // 2006-01-02T22:04:05Z, a Monday.
    expect([DATE_KERNELS.year!(s), DATE_KERNELS.month!(s), DATE_KERNELS.day_of_month!(s), DATE_KERNELS.day_of_week!(s), DATE_KERNELS.hour!(s), DATE_KERNELS.minute!(s)]).toEqual([2006, 1, 2, 1, 22, 4]);
    expect(DATE_KERNELS.days_in_month!(1454284800)).toBe(29);
    expect(DATE_KERNELS.day_of_year!(1483191420)).toBe(366);
    expect(DATE_KERNELS.year!(-1)).toBe(1969);
    expect(DATE_KERNELS.day_of_week!(0)).toBe(4);
  });
});

describe("classic histogram_quantile", () => {
  const b = [
    { upperBound: 2, count: 20 },
    { upperBound: Infinity, count: 20 },
    { upperBound: 1, count: 10 },
  ];
  it("sorts buckets and interpolates linearly", () => {
    expect(bucketQuantile(0.5, b).value).toBe(1);
    expect(bucketQuantile(0.75, b).value).toBe(1.5);
    expect(bucketQuantile(1, b).value).toBe(2);
    expect(bucketQuantile(-0.1, b).value).toBe(-Infinity);
    expect(bucketQuantile(NaN, b).value).toBeNaN();
  });
  it("requires +Inf, and forces monotonicity", () => {
    expect(bucketQuantile(0.5, b.slice(0, 1).concat(b[2]!)).value).toBeNaN();
    const r = bucketQuantile(0.5, [
      { upperBound: 1, count: 10 },
      { upperBound: 2, count: 5 },
      { upperBound: Infinity, count: 20 },
    ]);
    expect(r.forcedMonotonicity).toBe(true);
    expect(r.value).toBe(1);
  });
  it("computes fractions", () => {
    expect(bucketFraction(0, 1.5, b)).toBe(0.75);
    expect(bucketFraction(2, 1, b)).toBe(0);
  });
});

describe("aggregation accumulators", () => {
  const agg = (op: Parameters<typeof createFloatAggregator>[0], xs: number[], p?: number) => {
    const a = createFloatAggregator(op, p);
    for (const x of xs) a.add(x);
    return a.result();
  };
  it("matches Prometheus' reductions", () => {
    expect(agg("sum", [1e100, 1, -1e100])).toBe(1);
    expect(agg("avg", [1, 2, 3, 4])).toBe(2.5);
    expect(agg("stddev", [2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(agg("stdvar", [Infinity, 1])).toBeNaN();
    expect(agg("min", [NaN, 3, 1])).toBe(1);
    expect(agg("max", [1, NaN])).toBe(1);
    expect(agg("count", [1, NaN])).toBe(2);
    expect(agg("quantile", [1, 2, 3], 1.5)).toBe(Infinity);
    expect(quantileOf(0, [NaN, 1, 2])).toBeNaN();
    const s = createKahanState();
    for (const x of [0.1, 0.2, 0.3]) kahanAdd(s, x);
    expect(kahanResult(s)).toBe(0.6);
  });
});
