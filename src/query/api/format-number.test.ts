import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { STALE_NAN } from "../../model/series.ts";
import { formatFloatExp, formatFloatFixed, formatSampleTime, formatSampleValue, formatScalarTime } from "./format-number.ts";

describe("formatSampleValue (vector/matrix)", () => {
  it("equals the digit-by-digit Go formatting for any double (its String() fast path included)", () => {
    const goForm = (v: number): string => {
      const a = Math.abs(v);
      return a !== 0 && Number.isFinite(a) && (a < 1e-6 || a >= 1e21) ? formatFloatExp(v) : formatFloatFixed(v);
    };
    fc.assert(fc.property(fc.double(), (v) => formatSampleValue(v) === goForm(v)), { numRuns: 20_000 });
    const edges = [1e-6, -1e-6, 9.999999999999999e-7, 1e21, 9.999999999999999e20, -1e21, 0.1 + 0.2, 123456789.125, 5e-324, -0, 0];
    for (const v of edges) expect(formatSampleValue(v), String(v)).toBe(goForm(v));
  });

  it("prints the values observed from Prometheus byte for byte", () => {
    const cases: [number, string][] = [
      [1e-7, "1e-07"],
      [9.99e-7, "9.99e-07"],
      [0.000001, "0.000001"],
      [1e21, "1e+21"],
      [1.5e300, "1.5e+300"],
      [5e-324, "5e-324"],
      [123456789012345680000, "123456789012345680000"],
      [0.1 + 0.2, "0.30000000000000004"],
      [NaN, "NaN"],
      [STALE_NAN, "NaN"],
      [Infinity, "+Inf"],
      [-Infinity, "-Inf"],
      [-0, "-0"],
      [0, "0"],
      [1, "1"],
      [-2.5, "-2.5"],
      [100, "100"],
      [1234.5678, "1234.5678"],
      [-1e-10, "-1e-10"],
    ];
    for (const [v, want] of cases) expect(formatSampleValue(v), String(v)).toBe(want);
  });
});

describe("formatFloatFixed (scalars)", () => {
  it("never uses an exponent", () => {
    expect(formatFloatFixed(1e-7)).toBe("0.0000001");
    expect(formatFloatFixed(1e21)).toBe("1000000000000000000000");
    expect(formatFloatFixed(1.25e-3)).toBe("0.00125");
    expect(formatFloatFixed(-3)).toBe("-3");
  });
});

describe("timestamps", () => {
  it("sample timestamps keep 3 ms digits", () => {
    expect(formatSampleTime(1700000100500)).toBe("1700000100.500");
    expect(formatSampleTime(1700000100000)).toBe("1700000100");
    expect(formatSampleTime(1700000100001)).toBe("1700000100.001");
    expect(formatSampleTime(-1500)).toBe("-1.500");
    expect(formatSampleTime(-500)).toBe("-0.500");
    expect(formatSampleTime(0)).toBe("0");
  });
  it("scalar timestamps print the shortest float", () => {
    expect(formatScalarTime(1700000100500)).toBe("1700000100.5");
    expect(formatScalarTime(1700000100123)).toBe("1700000100.123");
    expect(formatScalarTime(0)).toBe("0");
  });
});
