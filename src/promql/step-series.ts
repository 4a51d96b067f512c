/**
 * Intermediate values of step-based evaluation. Every node of a query is evaluated over all
 * steps at once: an instant-vector node yields series holding one value slot per step (`v`) and a
 * presence mask (`p`), so operators and functions run as tight loops over typed arrays instead of
 * per-sample objects. This is Prometheus' `Matrix` of a range evaluation, laid out by step index.
 */
import { compareLabels, compareStrings, METRIC_NAME, type Label, type Labels } from "../model/labels.ts";
import { ExecutionError } from "./value.ts";

/** One series of an instant-vector node across all steps. */
export interface StepSeries {
  labels: Labels;
  /** Value at step i (meaningful only where `p[i]` is 1). */
  readonly v: Float64Array;
  /** 1 when the series has a value at step i. */
  readonly p: Uint8Array;
  /** Prometheus 3 delayed `__name__` removal: drop the name when the query finishes. */
  dropName: boolean;
}

/** Raw samples of one series of a range-vector node (matrix selector or subquery). */
export interface RangeSeries {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly dropName: boolean;
}

/** Value of an evaluated node. */
export type NodeValue =
  | { readonly type: "vector"; readonly series: StepSeries[] }
  | { readonly type: "scalar"; readonly v: Float64Array }
  | { readonly type: "string"; readonly s: string }
  | { readonly type: "matrix"; readonly series: RangeSeries[] };

/** Creates an empty step series (nothing present). */
export function newStepSeries(labels: Labels, n: number, dropName = false): StepSeries {
  return { labels, v: new Float64Array(n), p: new Uint8Array(n), dropName };
}

/** A string key identifying a label set (for maps). */
export function labelsKey(labels: Labels): string {
  let s = "";
  for (const l of labels) s += l.name + "\xff" + l.value + "\xfe";
  return s;
}

/** Key of the labels restricted to `names` (on) or without `names` and `__name__` (ignoring/without). */
export function signature(labels: Labels, on: boolean, names: ReadonlySet<string>): string {
  let s = "";
  if (on) {
    for (const l of labels) if (names.has(l.name)) s += l.name + "\xff" + l.value + "\xfe";
  } else {
    for (const l of labels) if (l.name !== METRIC_NAME && !names.has(l.name)) s += l.name + "\xff" + l.value + "\xfe";
  }
  return s;
}

/** Prometheus' metadata labels (`schema.IsMetadataLabel`): dropped together with the metric name. */
export const METADATA_LABELS: ReadonlySet<string> = new Set([METRIC_NAME, "__type__", "__unit__"]);

/** Labels without `__name__` (and `__type__`/`__unit__`), as Prometheus' `DropReserved(IsMetadataLabel)`. */
export function dropMetricName(labels: Labels): Labels {
  for (const l of labels) if (METADATA_LABELS.has(l.name)) return labels.filter((x) => !METADATA_LABELS.has(x.name));
  return labels;
}

/** Sets (or, for an empty value, deletes) one label, keeping the set sorted. */
export function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Label[] = [];
  let done = false;
  for (const l of labels) {
    if (!done && compareStrings(l.name, name) >= 0) {
      if (l.name === name) {
        if (value !== "") out.push({ name, value });
        done = true;
        continue;
      }
      if (value !== "") out.push({ name, value });
      done = true;
    }
    out.push(l);
  }
  if (!done && value !== "") out.push({ name, value });
  return out;
}

/** Keeps only the labels in `names`. */
export function keepLabels(labels: Labels, names: ReadonlySet<string>): Labels {
  return labels.filter((l) => names.has(l.name));
}

/** Removes the labels in `names`. */
export function removeLabels(labels: Labels, names: ReadonlySet<string>): Labels {
  return labels.filter((l) => !names.has(l.name));
}

/**
 * Collects output series by label set across steps, as Prometheus' rangeEval does: a label set seen
 * twice at one step is an error ("vector cannot contain metrics with the same labelset").
 */
export class SeriesCollector {
  readonly series: StepSeries[] = [];
  private readonly byKey = new Map<string, number>();

  constructor(private readonly n: number) {}

  /** Index of the output series for `labels`, creating it when new. */
  index(labels: Labels, dropName: boolean): number {
    const key = labelsKey(labels);
    let i = this.byKey.get(key);
    if (i === undefined) {
      i = this.series.length;
      this.series.push(newStepSeries(labels, this.n, dropName));
      this.byKey.set(key, i);
    }
    return i;
  }

  /** Sets the value of series `i` at `step`; throws on a duplicate. */
  set(i: number, step: number, v: number): void {
    const s = this.series[i]!;
    if (s.p[step]) throw new ExecutionError("vector cannot contain metrics with the same labelset");
    s.p[step] = 1;
    s.v[step] = v;
  }

  /** Convenience: index + set. */
  add(labels: Labels, dropName: boolean, step: number, v: number): void {
    this.set(this.index(labels, dropName), step, v);
  }

  /** Output series that have at least one value. */
  nonEmpty(): StepSeries[] {
    return this.series.filter((s) => s.p.includes(1));
  }
}

/**
 * Merges series that share a label set when their steps do not overlap (Prometheus'
 * `mergeSeriesWithSameLabelset`); overlapping steps are an error.
 */
export function mergeSameLabels(series: StepSeries[]): StepSeries[] {
  if (series.length <= 1) return series;
  const byKey = new Map<string, StepSeries>();
  const out: StepSeries[] = [];
  let merged = false;
  for (const s of series) {
    const key = labelsKey(s.labels);
    const prev = byKey.get(key);
    if (!prev) {
      byKey.set(key, s);
      out.push(s);
      continue;
    }
    merged = true;
    for (let i = 0; i < s.p.length; i++) {
      if (!s.p[i]) continue;
      if (prev.p[i]) throw new ExecutionError("vector cannot contain metrics with the same labelset");
      prev.p[i] = 1;
      prev.v[i] = s.v[i]!;
    }
  }
  return merged ? out : series;
}

/** Number of present points. */
export function countPoints(series: readonly StepSeries[]): number {
  let n = 0;
  for (const s of series) for (let i = 0; i < s.p.length; i++) n += s.p[i]!;
  return n;
}

/** Sorts series by labels (Prometheus' matrix order). */
export function sortByLabels<T extends { labels: Labels }>(series: T[]): T[] {
  return series.sort((a, b) => compareLabels(a.labels, b.labels));
}
