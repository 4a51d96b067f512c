import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { STALE_NAN } from "../../model/series.ts";
import { extrapolatedRate, RateScanner } from "./rate.ts";

/** Same result, bit for bit (NaN payloads and the sign of zero included), or both undefined. */
function sameBits(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const x = new Float64Array([a, b]);
  const w = new Uint32Array(x.buffer);
  return (w[0] === w[2] && w[1] === w[3]) || (Number.isNaN(a) && Number.isNaN(b));
}

// Values: mostly a rising counter, with resets, plain NaNs, stale markers, negatives and zeros.
const step = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 50 }).map((d) => ({ kind: "inc" as const, d })) },
  { weight: 1, arbitrary: fc.constant({ kind: "reset" as const, d: 0 }) },
  { weight: 1, arbitrary: fc.constant({ kind: "stale" as const, d: 0 }) },
  { weight: 1, arbitrary: fc.constant({ kind: "nan" as const, d: 0 }) },
  { weight: 1, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((d) => ({ kind: "set" as const, d })) },
);

function build(steps: readonly { kind: string; d: number }[], gaps: readonly number[]): { t: Float64Array; v: Float64Array } {
  const t = new Float64Array(steps.length);
  const v = new Float64Array(steps.length);
  let c = 0;
  let ts = 1_000;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    ts += 1 + gaps[i % gaps.length]!;
    t[i] = ts;
    if (s.kind === "inc") v[i] = c += s.d;
    else if (s.kind === "reset") v[i] = c = 0;
    else if (s.kind === "stale") v[i] = STALE_NAN;
    else if (s.kind === "nan") v[i] = NaN;
    else v[i] = c = s.d;
  }
  return { t, v };
}

describe("RateScanner", () => {
  it("is bit-identical to extrapolatedRate on every sliding window (rate, increase, delta)", () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 200 }),
        fc.array(fc.integer({ min: 0, max: 40_000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.integer({ min: 1_000, max: 300_000 }),
        fc.constantFrom([true, true], [true, false], [false, false]),
        (steps, gaps, stepMs, range, [isCounter, isRate]) => {
          const { t, v } = build(steps, gaps);
          const scan = new RateScanner(t, v, isCounter!, isRate!);
          let lo = 0;
          let hi = 0;
          const last = t.length > 0 ? t[t.length - 1]! + range : 0;
          for (let re = 0; re <= last; re += stepMs) {
            const rs = re - range;
            while (hi < t.length && t[hi]! <= re) hi++;
            while (lo < hi && t[lo]! <= rs) lo++;
            if (hi === lo) continue;
            const want = extrapolatedRate(t, v, lo, hi, rs, re, isCounter!, isRate!);
            const got = scan.at(lo, hi, rs, re);
            if (!sameBits(got, want)) {
              throw new Error(`window [${lo}, ${hi}) at ${re}: got ${got}, want ${want}`);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("uses the window loop for windows holding a reset or stale marker", () => {
    const t = Float64Array.from([15, 30, 45, 60, 75, 90].map((s) => s * 1000));
    const v = Float64Array.from([10, 20, 5, 15, STALE_NAN, 25]);
    const scan = new RateScanner(t, v, true, false);
    // (0, 60 s]: 10, 20, 5 (reset: +20), 15 → raw increase 15 - 10 + 20 = 25, extrapolated.
    expect(scan.at(0, 4, 0, 60_000)).toBe(extrapolatedRate(t, v, 0, 4, 0, 60_000, true, false));
    expect(scan.at(0, 4, 0, 60_000)).toBeCloseTo((25 * (45 + 15)) / 45, 9);
    // (30 s, 90 s]: the stale marker is skipped, reset 20 → 5 is outside: 5, 15, 25.
    expect(scan.at(2, 6, 30_000, 90_000)).toBe(extrapolatedRate(t, v, 2, 6, 30_000, 90_000, true, false));
    // A window with one sample has no rate.
    expect(scan.at(5, 6, 75_000, 90_000)).toBeUndefined();
  });
});
