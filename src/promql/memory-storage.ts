/**
 * In-memory {@link Queryable} over a fixed list of float series. Tests, the conformance runner and
 * benchmarks use it to feed the PromQL engine without a store: it does what a real store must do
 * (matcher selection, time filtering, label-sorted output) and nothing more.
 */
import { compareLabels, compareStrings, getLabel } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import type { FloatSeries } from "../model/series.ts";
import { lowerBound, upperBound } from "./sorted-search.ts";
import type { Querier, Queryable, SelectHints, SelectResult } from "./storage.ts";

function matchesAll(s: FloatSeries, matchers: readonly Matcher[]): boolean {
  for (const m of matchers) if (!m.matches(getLabel(s.labels, m.name))) return false;
  return true;
}

/** True when the series has at least one sample in [start, end]. */
function hasSamplesIn(s: FloatSeries, start: number, end: number): boolean {
  const i = lowerBound(s.t, start);
  return i < s.t.length && s.t[i]! <= end;
}

/**
 * Creates a queryable over `series`. The input is copied into label order once; sample arrays are
 * shared, and `select` returns subarray views (no copies) trimmed to `[hints.start, hints.end]`.
 * Series with no sample in the range are left out, as a TSDB querier leaves out series without
 * chunks in the range. Each series' timestamps must be ascending (the {@link FloatSeries} contract).
 */
export function createMemoryQueryable(series: readonly FloatSeries[]): Queryable {
  const sorted = [...series].sort((a, b) => compareLabels(a.labels, b.labels));
  const querier: Querier = {
    async select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<SelectResult> {
      signal?.throwIfAborted();
      const out: FloatSeries[] = [];
      for (const s of sorted) {
        if (!matchesAll(s, matchers)) continue;
        const lo = lowerBound(s.t, hints.start);
        const hi = upperBound(s.t, hints.end);
        if (hi <= lo) continue;
        if (lo === 0 && hi === s.t.length) out.push(s);
        else out.push({ labels: s.labels, t: s.t.subarray(lo, hi), v: s.v.subarray(lo, hi) });
      }
      return { series: out, warnings: [] };
    },
    async labelNames(matchers: readonly Matcher[], start: number, end: number, signal?: AbortSignal) {
      signal?.throwIfAborted();
      const names = new Set<string>();
      for (const s of sorted) {
        if (!matchesAll(s, matchers) || !hasSamplesIn(s, start, end)) continue;
        for (const l of s.labels) names.add(l.name);
      }
      return { names: [...names].sort(compareStrings), warnings: [] };
    },
    async labelValues(name: string, matchers: readonly Matcher[], start: number, end: number, signal?: AbortSignal) {
      signal?.throwIfAborted();
      const values = new Set<string>();
      for (const s of sorted) {
        if (!matchesAll(s, matchers) || !hasSamplesIn(s, start, end)) continue;
        const v = getLabel(s.labels, name);
        if (v !== "") values.add(v);
      }
      return { values: [...values].sort(compareStrings), warnings: [] };
    },
  };
  return { querier: () => querier };
}
