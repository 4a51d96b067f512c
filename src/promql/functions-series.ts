/**
 * Series-level helpers of the function table: `absent`/`absent_over_time` label derivation and
 * the `sort` family (Prometheus orders NaN last for `sort`, and uses natural order for
 * `sort_by_label`, with the full label set as the tie breaker).
 */
import { compareLabels, compareStrings, getLabel, METRIC_NAME, type Label, type Labels } from "../model/labels.ts";
import type { Call, Expr, VectorSelector } from "./ast.ts";
import type { Evaluator } from "./evaluator.ts";
import { byReverseValueLess, byValueLess, goSort } from "./go-sort.ts";
import type { StepSeries } from "./step-series.ts";

/**
 * Labels of `absent(sel)`: every label matched exactly once with `=` (a label with several
 * matchers, or a non-equality matcher, is left out), never `__name__`.
 */
export function absentLabels(vs: VectorSelector): Labels {
  const out = new Map<string, string>();
  const has = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === "=" && !has.has(m.name)) {
      out.set(m.name, m.value);
      has.add(m.name);
    } else {
      out.delete(m.name);
    }
  }
  const labels: Label[] = [];
  for (const [name, value] of out) if (value !== "") labels.push({ name, value });
  return labels.sort((a, b) => compareStrings(a.name, b.name));
}

/** Natural-order "less" (digits compared as numbers), as the natsort package Prometheus uses. */
export function natLess(a: string, b: string): boolean {
  const ca = chunk(a);
  const cb = chunk(b);
  for (let i = 0; i < ca.length && i < cb.length; i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const bx = BigInt(x);
      const by = BigInt(y);
      if (bx !== by) return bx < by;
      return x < y;
    }
    return x < y;
  }
  return ca.length < cb.length;
}

function chunk(s: string): string[] {
  return s.match(/\d+|\D+/g) ?? [];
}

/** `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`: reorder (instant queries only). */
export async function evalSortFunc(ev: Evaluator, e: Call, path: readonly Expr[]): Promise<StepSeries[]> {
  const vec = await ev.evalVector(e.args[0]!, path);
  if (ev.n !== 1) {
    ev.warn("sort is ineffective for range queries since results are always ordered by labels", e.pos);
    return vec;
  }
  switch (e.func) {
    case "sort":
      return goSort(vec, (a, b) => byReverseValueLess(b.v[0]!, a.v[0]!));
    case "sort_desc":
      return goSort(vec, (a, b) => byValueLess(b.v[0]!, a.v[0]!));
    default: {
      const names = e.args.slice(1).map((a) => (a.kind === "string" ? a.value : ""));
      const desc = e.func === "sort_by_label_desc";
      const cmp = (a: StepSeries, b: StepSeries): number => {
        for (const l of names) {
          const x = getLabel(a.labels, l);
          const y = getLabel(b.labels, l);
          if (x === y) continue;
          return natLess(x, y) ? (desc ? 1 : -1) : desc ? -1 : 1;
        }
        const c = compareLabels(a.labels, b.labels);
        return desc ? -c : c;
      };
      return vec.sort(cmp);
    }
  }
}
