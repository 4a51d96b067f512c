import { describe, expect, it } from "vitest";
import { formatLabels, labelsFromRecord } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { STALE_NAN, type FloatSeries } from "../model/series.ts";
import { createEngine } from "./engine.ts";
import { createMemoryQueryable } from "./memory-storage.ts";
import type { Queryable, SelectHints } from "./storage.ts";
import type { QueryResult } from "./value.ts";

const MIN = 60_000;

function series(rec: Record<string, string>, step: number, values: (number | null | "stale")[]): FloatSeries {
  const n = values.filter((x) => x !== null).length;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let k = 0;
  values.forEach((x, i) => {
    if (x === null) return;
    t[k] = i * step;
    // Written straight into the typed array: a JS array may canonicalise the stale NaN's bits.
    v[k] = x === "stale" ? STALE_NAN : x;
    k++;
  });
  return { labels: labelsFromRecord(rec), t, v };
}

/** Instant vector as `labels => value` in result order. */
function vec(r: QueryResult): [string, number][] {
  if (r.value.type !== "vector") throw new Error(`expected vector, got ${r.value.type}`);
  return r.value.samples.map((s) => [formatLabels(s.labels), s.v]);
}

function mat(r: QueryResult): Record<string, [number, number][]> {
  if (r.value.type !== "matrix") throw new Error(`expected matrix, got ${r.value.type}`);
  const out: Record<string, [number, number][]> = {};
  for (const s of r.value.series) out[formatLabels(s.labels)] = [...s.t].map((t, i) => [t, s.v[i]!]);
  return out;
}

const counters = [
  series({ __name__: "reqs_total", job: "api", instance: "a" }, MIN, [0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600]),
  series({ __name__: "reqs_total", job: "api", instance: "b" }, MIN, [0, 120, 240, 360, 480, 600, 720, 840, 960, 1080, 1200]),
  series({ __name__: "reqs_total", job: "web", instance: "a" }, MIN, [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300]),
];
const q = createMemoryQueryable(counters);

describe("selectors and lookback", () => {
  const engine = createEngine();
  const data = createMemoryQueryable([
    series({ __name__: "g" }, MIN, [1, null, null, null, null, null, null]),
    series({ __name__: "s" }, MIN, [1, 2, "stale", 4]),
  ]);

  it("uses a left-open lookback window (t - 5m, t]", async () => {
    expect(vec(await engine.instantQuery(data, "g", 4 * MIN + 59_999))).toEqual([["g", 1]]);
    expect(vec(await engine.instantQuery(data, "g", 5 * MIN))).toEqual([]);
  });

  it("ends a series at its stale marker and never returns the marker", async () => {
    expect(vec(await engine.instantQuery(data, "s", 2 * MIN + 30_000))).toEqual([]);
    expect(vec(await engine.instantQuery(data, "s", 3 * MIN))).toEqual([["s", 4]]);
    const r = await engine.instantQuery(data, "s[10m]", 5 * MIN);
    expect(mat(r)).toEqual({ s: [[0, 1], [MIN, 2], [3 * MIN, 4]] });
  });

  it("honours a per-query lookback delta", async () => {
    expect(vec(await engine.instantQuery(data, "g", 2 * MIN, { lookbackDelta: MIN }))).toEqual([]);
  });

  it("applies offset and @ modifiers, including negative offsets and start()/end()", async () => {
    expect(vec(await engine.instantQuery(q, `reqs_total{instance="a",job="api"} offset 5m`, 10 * MIN))).toEqual([
      [`reqs_total{instance="a", job="api"}`, 300],
    ]);
    expect(vec(await engine.instantQuery(q, `reqs_total{instance="a",job="api"} offset -5m`, 2 * MIN))).toEqual([
      [`reqs_total{instance="a", job="api"}`, 420],
    ]);
    const r = await engine.rangeQuery(q, `reqs_total{instance="a",job="api"} @ end()`, 0, 4 * MIN, 2 * MIN);
    expect(mat(r)).toEqual({ [`reqs_total{instance="a", job="api"}`]: [[0, 240], [2 * MIN, 240], [4 * MIN, 240]] });
  });
});

describe("functions and operators", () => {
  const engine = createEngine();

  it("computes rate over a left-open range and drops the metric name", async () => {
    const r = await engine.instantQuery(q, "rate(reqs_total[5m])", 10 * MIN);
    expect(vec(r)).toEqual([
      [`{instance="a", job="api"}`, 1],
      [`{instance="a", job="web"}`, 0.5],
      [`{instance="b", job="api"}`, 2],
    ]);
    // The non-counter info annotation is not raised for *_total names.
    expect(r.infos).toEqual([]);
  });

  it("aggregates by and without, in first-appearance order", async () => {
    expect(vec(await engine.instantQuery(q, "sum by (job) (reqs_total)", 10 * MIN))).toEqual([
      [`{job="api"}`, 1800],
      [`{job="web"}`, 300],
    ]);
    expect(vec(await engine.instantQuery(q, "max without (instance) (reqs_total)", 10 * MIN))).toEqual([
      [`{job="api"}`, 1200],
      [`{job="web"}`, 300],
    ]);
    expect(vec(await engine.instantQuery(q, "topk(2, reqs_total)", 10 * MIN)).map(([, v]) => v)).toEqual([1200, 600]);
    expect(vec(await engine.instantQuery(q, `count_values("v", reqs_total)`, 10 * MIN)).sort()).toEqual([
      [`{v="1200"}`, 1],
      [`{v="300"}`, 1],
      [`{v="600"}`, 1],
    ]);
  });

  it("matches vectors one-to-one and many-to-one with group_left labels", async () => {
    const info = createMemoryQueryable([
      ...counters,
      series({ __name__: "job_info", job: "api", team: "core" }, MIN, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
    ]);
    const r = await engine.instantQuery(info, "reqs_total * on(job) group_left(team) job_info", 10 * MIN);
    expect(vec(r).sort()).toEqual([
      [`{instance="a", job="api", team="core"}`, 600],
      [`{instance="b", job="api", team="core"}`, 1200],
    ]);
    await expect(engine.instantQuery(info, "job_info * on(job) reqs_total", 10 * MIN)).rejects.toThrow(
      /found duplicate series for the match group \{job="api"\} on the right hand-side of the operation/,
    );
  });

  it("filters with comparisons and returns 0/1 with bool", async () => {
    expect(vec(await engine.instantQuery(q, "reqs_total > 500", 10 * MIN)).length).toBe(2);
    expect(vec(await engine.instantQuery(q, "reqs_total > bool 500", 10 * MIN)).map(([, v]) => v)).toEqual([1, 0, 1]);
    expect(vec(await engine.instantQuery(q, `reqs_total{job="web"} or reqs_total{instance="b"}`, 10 * MIN)).length).toBe(2);
    expect(vec(await engine.instantQuery(q, `reqs_total unless on(job) reqs_total{job="web"}`, 10 * MIN)).length).toBe(2);
  });

  it("derives absent() labels from equality matchers", async () => {
    expect(vec(await engine.instantQuery(q, `absent(nope{a="1", b=~"x", c="2", c="3"})`, 0))).toEqual([[`{a="1"}`, 1]]);
    expect(vec(await engine.instantQuery(q, "absent(reqs_total)", 0))).toEqual([]);
  });

  it("sorts and relabels series", async () => {
    expect(vec(await engine.instantQuery(q, "sort_desc(reqs_total)", 10 * MIN)).map(([, v]) => v)).toEqual([1200, 600, 300]);
    const r = await engine.instantQuery(q, `label_replace(reqs_total{job="web"}, "svc", "$1-x", "job", "(w.*)")`, 10 * MIN);
    expect(vec(r)).toEqual([[`reqs_total{instance="a", job="web", svc="web-x"}`, 300]]);
  });

  it("aligns subquery steps to absolute multiples of the step", async () => {
    const r = await engine.instantQuery(q, `reqs_total{job="web"}[3m:2m]`, 7 * MIN + 30_000);
    expect(mat(r)).toEqual({ [`reqs_total{instance="a", job="web"}`]: [[6 * MIN, 180]] });
  });

  it("evaluates range queries step by step and sorts the matrix", async () => {
    const r = await engine.rangeQuery(q, "sum(rate(reqs_total[2m]))", 4 * MIN, 6 * MIN, MIN);
    expect(mat(r)).toEqual({ "{}": [[4 * MIN, 3.5], [5 * MIN, 3.5], [6 * MIN, 3.5]] });
    const s = await engine.rangeQuery(q, "time()", 0, 2 * MIN, MIN);
    expect(mat(s)).toEqual({ "{}": [[0, 0], [MIN, 60], [2 * MIN, 120]] });
  });
});

describe("__name__ removal", () => {
  it("errors on duplicates only after delayed removal, like Prometheus 3", async () => {
    const data = createMemoryQueryable([
      series({ __name__: "a_total", env: "1" }, MIN, [0, 60, 120]),
      series({ __name__: "b_total", env: "1" }, MIN, [0, 60, 120]),
    ]);
    const delayed = createEngine({ delayedNameRemoval: true });
    await expect(delayed.instantQuery(data, `sum by (__name__) (rate({env="1"}[2m]))`, 2 * MIN)).rejects.toThrow(
      "vector cannot contain metrics with the same labelset",
    );
    const r = await delayed.instantQuery(data, `label_replace(rate({env="1"}[2m]), "n", "$1", "__name__", "(.+)")`, 2 * MIN);
    expect(vec(r).sort()).toEqual([
      [`{env="1", n="a_total"}`, 1],
      [`{env="1", n="b_total"}`, 1],
    ]);
    const eager = createEngine();
    await expect(eager.instantQuery(data, `rate({env="1"}[2m])`, 2 * MIN)).rejects.toThrow(
      "vector cannot contain metrics with the same labelset",
    );
  });
});

describe("limits and hints", () => {
  it("enforces max samples with Prometheus' message", async () => {
    const engine = createEngine({ maxSamples: 5 });
    await expect(engine.rangeQuery(q, "reqs_total", 0, 10 * MIN, MIN)).rejects.toThrow(
      "query processing would load too many samples into memory in query execution",
    );
  });

  it("bounds memory for many sparse series with the same error", async () => {
    const sparse = createMemoryQueryable(
      Array.from({ length: 50 }, (_, k) => series({ __name__: "churn", k: String(k) }, MIN, [k])),
    );
    const engine = createEngine({ maxSlots: 1000 });
    // 50 series × 61 steps = 3050 slots, though only 50 × 5 samples are ever visible.
    await expect(engine.rangeQuery(sparse, "churn", 0, 60 * MIN, MIN)).rejects.toThrow(
      "query processing would load too many samples into memory in query execution",
    );
    const ok = await createEngine().rangeQuery(sparse, "churn", 0, 60 * MIN, MIN);
    expect(ok.value.type === "matrix" && ok.value.series.length).toBe(50);
  });

  it("rejects more than 11,000 points per series", async () => {
    await expect(createEngine().rangeQuery(q, "reqs_total", 0, 11_001_000, 1000)).rejects.toThrow(
      "exceeded maximum resolution of 11,000 points per timeseries",
    );
  });

  it("stops on cancellation", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(createEngine().instantQuery(q, "reqs_total", 0, { signal: ac.signal })).rejects.toMatchObject({ kind: "canceled" });
  });

  it("aborts a hanging storage call at the query timeout", async () => {
    const hanging: Queryable = {
      querier(start, end) {
        const inner = q.querier(start, end);
        return {
          select: (_ms, _hints, signal) =>
            new Promise((_resolve, reject) => signal?.addEventListener("abort", () => reject(new Error("aborted")))),
          labelNames: inner.labelNames.bind(inner),
          labelValues: inner.labelValues.bind(inner),
        };
      },
    };
    await expect(createEngine({ timeout: 20 }).instantQuery(hanging, "reqs_total", 0)).rejects.toMatchObject({
      kind: "timeout",
      message: "query timed out in query execution",
    });
  });

  it("starts all selects before evaluating and uses each exactly once", async () => {
    const calls: SelectHints[] = [];
    let release: () => void = () => {};
    const barrier = new Promise<void>((r) => (release = r));
    const expr = "sum(rate(reqs_total[5m])) / sum(rate(reqs_total[5m] offset 1m)) + scalar(max_over_time(reqs_total[10m:1m] @ end()))";
    const gated: Queryable = {
      querier(start, end) {
        const inner = q.querier(start, end);
        return {
          async select(ms, hints, signal) {
            calls.push(hints);
            // Resolves only once all three selects were issued: sequential fetching would hang.
            if (calls.length === 3) release();
            await barrier;
            return inner.select(ms, hints, signal);
          },
          labelNames: inner.labelNames.bind(inner),
          labelValues: inner.labelValues.bind(inner),
        };
      },
    };
    const r = await createEngine({ timeout: 60_000 }).rangeQuery(gated, expr, 10 * MIN, 12 * MIN, MIN);
    expect(calls.length).toBe(3);
    expect(r.value.type).toBe("matrix");
  });

  it("passes time range, range, function and grouping to storage", async () => {
    const seen: SelectHints[] = [];
    const recording: Queryable = {
      querier(start, end) {
        const inner = q.querier(start, end);
        return {
          select(ms: readonly Matcher[], hints: SelectHints, signal?: AbortSignal) {
            seen.push(hints);
            return inner.select(ms, hints, signal);
          },
          labelNames: inner.labelNames.bind(inner),
          labelValues: inner.labelValues.bind(inner),
        };
      },
    };
    await createEngine().rangeQuery(recording, "sum by (job) (rate(reqs_total[5m] offset 1m))", 10 * MIN, 20 * MIN, MIN);
    expect(seen).toEqual([
      { start: 4 * MIN, end: 19 * MIN, step: MIN, range: 5 * MIN, func: "rate", grouping: ["job"], by: true },
    ]);
  });
});

describe("parsed query cache", () => {
  const data = [series({ __name__: "m", job: "a" }, MIN, [1, 2, 3, 4, 5]), series({ __name__: "m", job: "b" }, MIN, [10, 20, 30, 40, 50])];
  it("answers a repeated text at other times and with other step/range duration expressions as a fresh parse does", async () => {
    const cached = createEngine({ durationExpressions: true });
    const q = createMemoryQueryable(data);
    for (const t of [1, 2, 4, 2]) {
      const fresh = createEngine({ durationExpressions: true });
      expect(vec(await cached.instantQuery(q, "sum by (job) (m)", t * MIN))).toEqual(vec(await fresh.instantQuery(q, "sum by (job) (m)", t * MIN)));
    }
    const text = "max_over_time(m[step()*2])";
    for (const step of [MIN, 2 * MIN]) {
      const a = await cached.rangeQuery(q, text, 0, 4 * MIN, step);
      const b = await createEngine({ durationExpressions: true }).rangeQuery(q, text, 0, 4 * MIN, step);
      expect(a).toEqual(b);
    }
  });

  it("reports a parse error every time a bad text is sent", async () => {
    const e = createEngine();
    const q = createMemoryQueryable(data);
    for (let i = 0; i < 2; i++) await expect(e.instantQuery(q, "sum(", MIN)).rejects.toThrow(/parse error/);
  });
});
