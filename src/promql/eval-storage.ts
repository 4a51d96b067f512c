/**
 * Storage access of the evaluator: Prometheus-style select hints for a selector, the select itself
 * (picking up a prefetched one), and prefetching every select of a query up front.
 */
import type { FloatSeries } from "../model/series.ts";
import { children, type Expr, type VectorSelector } from "./ast.ts";
import type { Evaluator } from "./evaluator.ts";
import type { SelectHints } from "./storage.ts";

/** Storage hints for a selector evaluated by ev evaluator (Prometheus' `SelectHints`). */
export function selectHints(ev: Evaluator, vs: VectorSelector, path: readonly Expr[], range: number): SelectHints {
  const at = ev.atTime(vs);
  const lo = (at ?? ev.start) - vs.offset;
  const ahead = vs.smoothed ? ev.ctx.lookbackDelta : 0;
  const hi = (at ?? ev.end) - vs.offset + ahead;
  let back = range > 0 ? range : ev.ctx.lookbackDelta;
  if (range > 0 && (vs.anchored || vs.smoothed)) back += ev.ctx.lookbackDelta;
  let func = "";
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i]!;
    if (p.kind === "call") { func = p.func; break; }
    if (p.kind === "aggregate") { func = p.op; break; }
    if (p.kind === "binary") break;
  }
  let grouping: readonly string[] | undefined;
  let by: boolean | undefined;
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i]!;
    if (p.kind === "aggregate") { grouping = p.grouping; by = !p.without; break; }
  }
  return {
    start: lo - back,
    end: hi,
    step: ev.ctx.queryStep, // as Prometheus: the query step, also inside subqueries (0 for instant queries)
    range,
    func,
    ...(grouping ? { grouping, by } : {}),
  };
}

/** Fetches series for a selector. `range` is the matrix range (0 for instant selectors). */
export async function selectSeries(ev: Evaluator, vs: VectorSelector, path: readonly Expr[], range: number): Promise<readonly FloatSeries[]> {
  const hints = selectHints(ev, vs, path, range);
  const key = `${hints.start}:${hints.end}:${hints.range}`;
  const pending = ev.ctx.prefetched?.get(vs);
  let promise = pending?.get(key);
  if (promise) pending!.delete(key);
  else promise = ev.ctx.querier.select(vs.matchers, hints, ev.ctx.storageSignal ?? ev.ctx.signal);
  const res = await promise;
  for (const w of res.warnings) ev.ctx.warnings.add(w);
  ev.check();
  return res.series;
}

/**
 * Starts the storage selects of every selector under `e` concurrently, before evaluation needs
 * them (Prometheus also fetches all selectors up front), so a query with several selectors over
 * remote stores waits for the slowest store once, not once per selector. Uses exactly the hints
 * evaluation will compute, and the results are picked up by {@link selectSeries}.
 */
export function prefetchSelects(ev: Evaluator, e: Expr, parents: readonly Expr[] = []): void {
  const sub = [...parents, e];
  const start = (vs: VectorSelector, path: readonly Expr[], range: number): void => {
    const hints = selectHints(ev, vs, path, range);
    const key = `${hints.start}:${hints.end}:${hints.range}`;
    const map = (ev.ctx.prefetched ??= new Map());
    let byKey = map.get(vs);
    if (!byKey) map.set(vs, (byKey = new Map()));
    if (byKey.has(key)) return;
    const p = ev.ctx.querier.select(vs.matchers, hints, ev.ctx.storageSignal ?? ev.ctx.signal);
    p.catch(() => {}); // awaited (and reported) by selectSeries(); never an unhandled rejection
    byKey.set(key, p);
  };
  switch (e.kind) {
    case "vectorSelector":
      start(e, parents, 0);
      return;
    case "matrixSelector":
      start(e.vectorSelector, sub, e.range);
      return;
    case "subquery": {
      const child = ev.subqueryEvaluator(e);
      prefetchSelects(child, e.expr, sub);
      return;
    }
    case "call":
      if (e.func === "info") {
        prefetchSelects(ev, e.args[0]!, sub);
        return;
      }
      for (const a of e.args) prefetchSelects(ev, a, sub);
      return;
    default:
      for (const c of children(e)) prefetchSelects(ev, c, sub);
  }
}
