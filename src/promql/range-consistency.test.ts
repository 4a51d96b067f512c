import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatLabels, labelsFromRecord } from "../model/labels.ts";
import { STALE_NAN, type FloatSeries } from "../model/series.ts";
import { createEngine } from "./engine.ts";
import { createMemoryQueryable } from "./memory-storage.ts";

/**
 * Property: a range query evaluated step-wise over all steps at once (moving window indices,
 * shared group tables, per-step vector matching) gives at every step exactly what an instant
 * query at that time gives. This checks the range-query fast paths against the simple path.
 */

const EXPRS = [
  "x",
  "x offset 1m",
  "rate(x[2m])",
  "increase(x[90s])",
  "max_over_time(x[3m])",
  "sum by (g) (x)",
  "avg without (i) (rate(x[2m]))",
  "topk(1, x)",
  "x > 5",
  "x * on(i) group_left y",
  "x or y",
  "x unless y",
  "count_values(\"v\", x)",
  "quantile(0.5, x)",
  "sum_over_time(x[5m:30s])",
  "absent(z)",
  "histogram_quantile(0.9, sum by (le) (rate(h[3m])))",
  "label_replace(x, \"k\", \"$1\", \"i\", \"(.*)\")",
  "timestamp(x)",
  "deriv(x[3m])",
  "rate(x[2m] @ 300)",
  "max_over_time(x[3m] @ 500)",
  "sum(x @ 200) + x",
];

const value = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 20 }) },
  { weight: 1, arbitrary: fc.constant(NaN) },
  { weight: 1, arbitrary: fc.constant("stale" as const) },
  { weight: 2, arbitrary: fc.constant(null) },
);

const seriesArb = fc.array(value, { minLength: 1, maxLength: 40 });

function build(points: (number | "stale" | null)[], rec: Record<string, string>): FloatSeries {
  const n = points.filter((p) => p !== null).length;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let k = 0;
  points.forEach((p, i) => {
    if (p === null) return;
    t[k] = i * 15_000;
    v[k] = p === "stale" ? STALE_NAN : p;
    k++;
  });
  return { labels: labelsFromRecord(rec), t, v };
}

function key(labels: FloatSeries["labels"]): string {
  return formatLabels(labels);
}

describe("range queries agree with instant queries at every step", () => {
  it("holds for random data", async () => {
    await fc.assert(
      fc.asyncProperty(seriesArb, seriesArb, seriesArb, seriesArb, async (a, b, c, d) => {
        const data = [
          build(a, { __name__: "x", g: "1", i: "a" }),
          build(b, { __name__: "x", g: "1", i: "b" }),
          build(c, { __name__: "y", i: "a" }),
          build(d, { __name__: "h", le: "1" }),
          build(a.map((p) => (typeof p === "number" ? p * 2 : p)), { __name__: "h", le: "+Inf" }),
        ];
        const q = createMemoryQueryable(data);
        for (const engine of [createEngine({ delayedNameRemoval: true }), createEngine()]) {
          const start = 60_000;
          const end = 600_000;
          const step = 45_000;
          for (const expr of EXPRS) {
            const range = await engine.rangeQuery(q, expr, start, end, step);
            if (range.value.type !== "matrix") throw new Error("expected matrix");
            const byStep = new Map<number, Map<string, number>>();
            for (const s of range.value.series) {
              s.t.forEach((t, i) => {
                if (!byStep.has(t)) byStep.set(t, new Map());
                byStep.get(t)!.set(key(s.labels), s.v[i]!);
              });
            }
            for (let t = start; t <= end; t += step) {
              const inst = await engine.instantQuery(q, expr, t);
              if (inst.value.type !== "vector") throw new Error("expected vector");
              const want = new Map(inst.value.samples.map((s) => [key(s.labels), s.v] as const));
              const got = byStep.get(t) ?? new Map<string, number>();
              expect({ expr, t, got: [...got].sort() }).toEqual({ expr, t, got: [...want].sort() });
            }
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});
