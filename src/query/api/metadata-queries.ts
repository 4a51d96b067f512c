/**
 * The metadata endpoints' data access: series, label names and label values for one or more
 * `match[]` selectors, unioned, sorted and limited the way Prometheus answers them.
 */
import { compareLabels, compareStrings, labelsEqual, type Labels } from "../../model/labels.ts";
import type { Matcher } from "../../model/matcher.ts";
import type { Queryable } from "../../promql/storage.ts";

/** Warning Prometheus adds when `limit` cut a result short. */
export const TRUNCATED_WARNING = "results truncated due to limit";

/**
 * Label sets of the series matching any of `sets` in [start, end], sorted and without duplicates.
 * Sent with hint func `series`, which tells StoreAPI clients to skip chunks.
 */
export async function selectSeries(
  queryable: Queryable,
  sets: readonly (readonly Matcher[])[],
  start: number,
  end: number,
  limit: number,
  signal?: AbortSignal,
): Promise<{ series: Labels[]; warnings: string[] }> {
  const querier = queryable.querier(start, end);
  const results = await Promise.all(sets.map((m) => querier.select(m, { start, end, step: 0, range: 0, func: "series" }, signal)));
  const all: Labels[] = [];
  const warnings: string[] = [];
  for (const r of results) {
    for (const s of r.series) all.push(s.labels);
    warnings.push(...r.warnings);
  }
  all.sort(compareLabels);
  const unique: Labels[] = [];
  for (const l of all) if (unique.length === 0 || !labelsEqual(unique[unique.length - 1]!, l)) unique.push(l);
  return applyLimit(unique, limit, warnings, (series) => ({ series, warnings }));
}

/** Label names of series matching any of `sets` (all series when `sets` is empty), sorted, unique. */
export async function unionLabelNames(
  queryable: Queryable,
  sets: readonly (readonly Matcher[])[],
  start: number,
  end: number,
  limit: number,
  signal?: AbortSignal,
): Promise<{ values: string[]; warnings: string[] }> {
  const querier = queryable.querier(start, end);
  const results = await Promise.all((sets.length > 0 ? sets : [[]]).map((m) => querier.labelNames(m, start, end, signal)));
  return mergeSorted(
    results.map((r) => r.names),
    results.flatMap((r) => r.warnings),
    limit,
  );
}

/** Values of label `name` in series matching any of `sets`, sorted, unique. */
export async function unionLabelValues(
  queryable: Queryable,
  name: string,
  sets: readonly (readonly Matcher[])[],
  start: number,
  end: number,
  limit: number,
  signal?: AbortSignal,
): Promise<{ values: string[]; warnings: string[] }> {
  const querier = queryable.querier(start, end);
  const results = await Promise.all((sets.length > 0 ? sets : [[]]).map((m) => querier.labelValues(name, m, start, end, signal)));
  return mergeSorted(
    results.map((r) => r.values),
    results.flatMap((r) => r.warnings),
    limit,
  );
}

function mergeSorted(lists: string[][], warnings: string[], limit: number): { values: string[]; warnings: string[] } {
  const values = [...new Set(lists.flat())].sort(compareStrings);
  return applyLimit(values, limit, warnings, (v) => ({ values: v, warnings }));
}

function applyLimit<T, R>(items: T[], limit: number, warnings: string[], wrap: (items: T[]) => R): R {
  if (limit > 0 && items.length > limit) {
    warnings.push(TRUNCATED_WARNING);
    return wrap(items.slice(0, limit));
  }
  return wrap(items);
}
