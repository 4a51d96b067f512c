/**
 * The storage boundary of the PromQL engine. The querier backs it with StoreAPI fan-out, tests
 * back it with in-memory series. Hints (time range, step, function, grouping) go down with every
 * select so stores can prune chunks and pick downsampled data, as Prometheus' `SelectHints` do.
 */
import type { Matcher } from "../model/matcher.ts";
import type { FloatSeries } from "../model/series.ts";

/** What the engine tells storage about one selector. Times are ms, inclusive. */
export interface SelectHints {
  readonly start: number;
  readonly end: number;
  /** Query resolution step in ms (0 for instant queries). */
  readonly step: number;
  /** Range of the enclosing matrix selector in ms, 0 for instant selectors. */
  readonly range: number;
  /** Name of the function that wraps the selector, e.g. `rate`, or "" when none. */
  readonly func: string;
  /** Grouping labels of the enclosing aggregation, when there is one. */
  readonly grouping?: readonly string[];
  /** True for `by (...)`, false for `without (...)`. */
  readonly by?: boolean;
}

/** The result of one select: series sorted by labels, plus non-fatal warnings (partial response). */
export interface SelectResult {
  readonly series: readonly FloatSeries[];
  readonly warnings: readonly string[];
}

/** Read access to series for one query's time range. */
export interface Querier {
  /** Series matching all matchers whose samples fall in [hints.start, hints.end]. */
  select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<SelectResult>;
  /** Label names present in series matching `matchers` (all series when empty). Sorted. */
  labelNames(matchers: readonly Matcher[], start: number, end: number, signal?: AbortSignal): Promise<{ names: string[]; warnings: string[] }>;
  /** Values of `name` in series matching `matchers`. Sorted. */
  labelValues(name: string, matchers: readonly Matcher[], start: number, end: number, signal?: AbortSignal): Promise<{ values: string[]; warnings: string[] }>;
}

/** Opens a {@link Querier}; the engine calls it once per query. */
export interface Queryable {
  querier(start: number, end: number): Querier;
}
