import { describe, expect, it } from "vitest";
import { labelsFromRecord } from "../model/labels.ts";
import { createMatcher } from "../model/matcher.ts";
import type { FloatSeries } from "../model/series.ts";
import { createMemoryQueryable } from "./memory-storage.ts";

function series(rec: Record<string, string>, t: number[], v: number[]): FloatSeries {
  return { labels: labelsFromRecord(rec), t: Float64Array.from(t), v: Float64Array.from(v) };
}

const data = [
  series({ __name__: "up", job: "b" }, [0, 10, 20, 30], [1, 2, 3, 4]),
  series({ __name__: "up", job: "a" }, [5, 15], [7, 8]),
  series({ __name__: "other", job: "a", x: "y" }, [100], [9]),
];
const hints = (start: number, end: number) => ({ start, end, step: 0, range: 0, func: "" });

describe("createMemoryQueryable", () => {
  it("selects by matchers, sorts by labels and trims to the inclusive time range", async () => {
    const q = createMemoryQueryable(data).querier(0, 100);
    const r = await q.select([createMatcher("=", "__name__", "up")], hints(10, 20));
    expect(r.series.map((s) => s.labels.find((l) => l.name === "job")!.value)).toEqual(["a", "b"]);
    expect([...r.series[0]!.t]).toEqual([15]);
    expect([...r.series[1]!.t]).toEqual([10, 20]);
    expect([...r.series[1]!.v]).toEqual([2, 3]);
  });

  it("leaves out series without samples in range and supports regex matchers on absent labels", async () => {
    const q = createMemoryQueryable(data).querier(0, 100);
    const r = await q.select([createMatcher("=~", "job", "a|b"), createMatcher("!~", "x", ".+")], hints(25, 200));
    expect(r.series).toHaveLength(1);
    expect([...r.series[0]!.v]).toEqual([4]);
  });

  it("lists label names and values for matching series", async () => {
    const q = createMemoryQueryable(data).querier(0, 1000);
    expect((await q.labelNames([], 0, 1000)).names).toEqual(["__name__", "job", "x"]);
    expect((await q.labelNames([createMatcher("=", "__name__", "up")], 0, 1000)).names).toEqual(["__name__", "job"]);
    expect((await q.labelValues("job", [], 0, 1000)).values).toEqual(["a", "b"]);
    expect((await q.labelValues("__name__", [], 50, 1000)).values).toEqual(["other"]);
  });
});
