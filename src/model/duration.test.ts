import { describe, expect, it } from "vitest";
import { DurationError, formatDuration, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it("parses single and combined units", () => {
    expect(parseDuration("0")).toBe(0);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("15s")).toBe(15_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("1w")).toBe(604_800_000);
    expect(parseDuration("1y")).toBe(31_536_000_000);
    expect(parseDuration("1m1s1ms")).toBe(61_001);
  });
  it("rejects bad forms as Prometheus does", () => {
    for (const bad of ["", "1", "1.5h", "30m1h", "1h1h", "h", "-1s", "1 s", "5x"]) {
      expect(() => parseDuration(bad), bad).toThrow(DurationError);
    }
  });
});

describe("formatDuration", () => {
  it("prints the Prometheus form", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(86_400_000)).toBe("1d");
    expect(formatDuration(604_800_000)).toBe("1w");
    expect(formatDuration(1500)).toBe("1s500ms");
  });
});
