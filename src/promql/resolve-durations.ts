/**
 * Resolves experimental duration expressions that use `step()` / `range()` once a query's step
 * and range are known (Prometheus evaluates them when preparing the query): returns the same tree
 * with plain millisecond values in place of the expressions.
 */
import type { Expr } from "./ast.ts";
import { evalDuration, toMs, type DurationNode } from "./parser-duration.ts";
import { BadDataError } from "./value.ts";

/** True when `e` contains any unresolved duration expression. */
function hasDurationExprs(e: Expr): boolean {
  switch (e.kind) {
    case "vectorSelector": return !!e.offsetExpr;
    case "matrixSelector": return !!e.rangeExpr || hasDurationExprs(e.vectorSelector);
    case "subquery": return !!(e.rangeExpr || e.stepExpr || e.offsetExpr) || hasDurationExprs(e.expr);
    case "unary": case "paren": return hasDurationExprs(e.expr);
    case "binary": return hasDurationExprs(e.lhs) || hasDurationExprs(e.rhs);
    case "aggregate": return hasDurationExprs(e.expr) || (e.param !== null && hasDurationExprs(e.param));
    case "call": return e.args.some(hasDurationExprs);
    default: return false;
  }
}

/** Replaces `step()`/`range()` duration expressions by their values for this query. */
export function resolveDurations(e: Expr, stepMs: number, rangeMs: number): Expr {
  if (!hasDurationExprs(e)) return e;
  const ms = (d: DurationNode): number => toMs(evalDuration(d, stepMs, rangeMs));
  const positive = (v: number, what: string): number => {
    if (!(v > 0)) throw new BadDataError(`${what} must be greater than 0, got ${v / 1000}s`);
    return v;
  };
  const r = (x: Expr): Expr => resolveDurations(x, stepMs, rangeMs);
  switch (e.kind) {
    case "vectorSelector":
      return e.offsetExpr ? { ...e, offset: ms(e.offsetExpr), offsetExpr: undefined } : e;
    case "matrixSelector":
      return {
        ...e,
        vectorSelector: r(e.vectorSelector) as typeof e.vectorSelector,
        range: e.rangeExpr ? positive(ms(e.rangeExpr), "range") : e.range,
        rangeExpr: undefined,
      };
    case "subquery":
      return {
        ...e,
        expr: r(e.expr),
        range: e.rangeExpr ? positive(ms(e.rangeExpr), "subquery range") : e.range,
        step: e.stepExpr ? positive(ms(e.stepExpr), "subquery step") : e.step,
        offset: e.offsetExpr ? ms(e.offsetExpr) : e.offset,
        rangeExpr: undefined,
        stepExpr: undefined,
        offsetExpr: undefined,
      };
    case "unary": return { ...e, expr: r(e.expr) };
    case "paren": return { ...e, expr: r(e.expr) };
    case "binary": return { ...e, lhs: r(e.lhs), rhs: r(e.rhs) };
    case "aggregate": return { ...e, expr: r(e.expr), param: e.param ? r(e.param) : null };
    case "call": return { ...e, args: e.args.map(r) };
    default: return e;
  }
}
