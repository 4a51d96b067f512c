import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { STALE_NAN } from "../model/series.ts";
import { maxOverTime, minOverTime } from "./kernels/index.ts";
import { createSlidingExtremum } from "./sliding-extremum.ts";

const sample = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -5, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, NaN, Infinity, -Infinity) },
  { weight: 1, arbitrary: fc.constant("stale" as const) },
);

describe("sliding min/max", () => {
  it("equals the window scan of the kernels for forward-moving windows", () => {
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(4), { minLength: 1, maxLength: 40 }), fc.nat(6), (vals, steps, width) => {
        const v = new Float64Array(vals.length);
        vals.forEach((x, i) => (v[i] = x === "stale" ? STALE_NAN : x));
        const t = Float64Array.from(vals.map((_, i) => i));
        for (const max of [true, false]) {
          const s = createSlidingExtremum(max, v.length);
          let hi = 0;
          for (const d of steps) {
            hi = Math.min(v.length, hi + d);
            const lo = Math.max(0, hi - width);
            if (hi === lo) continue;
            const want = (max ? maxOverTime : minOverTime)(t, v, lo, hi);
            expect(Object.is(s.at(v, lo, hi), want) || (want !== want && s.at(v, lo, hi) !== s.at(v, lo, hi))).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
