import { describe, expect, it } from "vitest";
import { formatLabels, labelsFromRecord } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";
import { createEngine } from "./engine.ts";
import { createMemoryQueryable } from "./memory-storage.ts";
import type { QueryResult } from "./value.ts";

const S = 1000;

function series(rec: Record<string, string>, step: number, values: number[], start = 0): FloatSeries {
  return {
    labels: labelsFromRecord(rec),
    t: Float64Array.from(values.map((_, i) => start + i * step)),
    v: Float64Array.from(values),
  };
}

function vec(r: QueryResult): [string, number][] {
  if (r.value.type !== "vector") throw new Error(`expected vector, got ${r.value.type}`);
  return r.value.samples.map((s): [string, number] => [formatLabels(s.labels), s.v]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

const all = createEngine({
  experimentalFunctions: true, binopFillModifiers: true, durationExpressions: true, extendedRangeSelectors: true, delayedNameRemoval: true,
});
const plain = createEngine();

describe("experimental features are off by default", () => {
  const q = createMemoryQueryable([series({ __name__: "x" }, 10 * S, [1, 2, 3])]);
  it.each([
    ["x + fill(0) x", /fill modifiers are experimental/],
    ["x[10s+10s]", /^1:3: parse error: experimental duration expression is not enabled$/],
    ["rate(x[1m] anchored)", /anchored modifier is experimental/],
    ["sort_by_label(x, \"a\")", /function "sort_by_label" is not enabled/],
  ])("%s", async (expr, err) => {
    await expect(plain.instantQuery(q, expr, 20 * S)).rejects.toThrow(err);
  });
});

describe("binop fill modifiers", () => {
  const q = createMemoryQueryable([
    series({ __name__: "l", k: "a" }, 60 * S, [10]),
    series({ __name__: "l", k: "b" }, 60 * S, [20]),
    series({ __name__: "r", k: "a" }, 60 * S, [1]),
    series({ __name__: "r", k: "c" }, 60 * S, [3]),
  ]);
  it("fills the missing side", async () => {
    expect(vec(await all.instantQuery(q, "l + fill(100) r", 0))).toEqual([
      [`{k="a"}`, 11],
      [`{k="b"}`, 120],
      [`{k="c"}`, 103],
    ]);
    expect(vec(await all.instantQuery(q, "l - fill_right(0) r", 0))).toEqual([
      [`{k="a"}`, 9],
      [`{k="b"}`, 20],
    ]);
  });
});

describe("duration expressions", () => {
  const q = createMemoryQueryable([series({ __name__: "c" }, S, Array.from({ length: 101 }, (_, i) => i))]);
  it("folds constants and resolves step()/range() per query", async () => {
    expect(vec(await all.instantQuery(q, "count_over_time(c[5s*2])", 50 * S))).toEqual([["{}", 10]]);
    const r = await all.rangeQuery(q, "count_over_time(c[step()+1ms])", 50 * S, 60 * S, 5 * S);
    expect(r.value.type === "matrix" && [...r.value.series[0]!.v]).toEqual([6, 6, 6]);
    const o = await all.rangeQuery(q, "c offset range()", 50 * S, 60 * S, 5 * S);
    expect(o.value.type === "matrix" && [...o.value.series[0]!.v]).toEqual([40, 45, 50]);
  });
});

describe("anchored and smoothed range selectors", () => {
  // A counter sampled every 15 s: increase over [1m] sees the change since the sample before the window.
  const q = createMemoryQueryable([series({ __name__: "m" }, 15 * S, [0, 1, 2, 3, 4, 5, 6, 7, 8])]);
  it("anchored increase includes the anchor sample", async () => {
    expect(vec(await all.instantQuery(q, "increase(m[1m] anchored)", 60 * S))).toEqual([["{}", 4]]);
    expect(vec(await all.instantQuery(q, "increase(m[1m] smoothed)", 67_500))).toEqual([["{}", 4]]);
  });
  it("interpolates smoothed instant selectors", async () => {
    expect(vec(await all.instantQuery(q, "m smoothed", 22_500))).toEqual([["m", 1.5]]);
  });
  it("rejects functions Prometheus does not allow", async () => {
    await expect(all.instantQuery(q, "max_over_time(m[1m] anchored)", 60 * S)).rejects.toThrow(
      "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with max_over_time",
    );
  });
});

describe("info()", () => {
  const q = createMemoryQueryable([
    series({ __name__: "metric", instance: "a", job: "1" }, 60 * S, [0, 1, 2]),
    series({ __name__: "target_info", instance: "a", job: "1", data: "x" }, 60 * S, [1, 1, 1]),
    series({ __name__: "build_info", instance: "a", job: "1", version: "2" }, 60 * S, [1, 1, 1]),
  ]);
  it("joins target_info data labels by instance and job", async () => {
    expect(vec(await all.instantQuery(q, "info(metric)", 120 * S))).toEqual([[`metric{data="x", instance="a", job="1"}`, 2]]);
    expect(vec(await all.instantQuery(q, `info(metric, {__name__="build_info"})`, 120 * S))).toEqual([
      [`metric{instance="a", job="1", version="2"}`, 2],
    ]);
  });
});

describe("experimental functions", () => {
  const q = createMemoryQueryable([
    series({ __name__: "x", n: "b10" }, 60 * S, [1]),
    series({ __name__: "x", n: "b9" }, 60 * S, [2]),
    series({ __name__: "x", n: "a" }, 60 * S, [3]),
  ]);
  it("sorts by label in natural order and limits per group", async () => {
    const r = await all.instantQuery(q, `sort_by_label(x, "n")`, 0);
    expect(r.value.type === "vector" && r.value.samples.map((s) => s.v)).toEqual([3, 2, 1]);
    expect(vec(await all.instantQuery(q, "count(limitk(2, x))", 0))).toEqual([["{}", 2]]);
    expect(vec(await all.instantQuery(q, "count(limit_ratio(1, x))", 0))).toEqual([["{}", 3]]);
    const lr = vec(await all.instantQuery(q, "count(limit_ratio(0.5, x) or limit_ratio(-0.5, x))", 0));
    expect(lr).toEqual([["{}", 3]]);
  });
});
