/** Parsing of `match[]` and `storeMatch[]` parameters with the PromQL parser. */
import type { Matcher } from "../../model/matcher.ts";
import { parseExpr } from "../../promql/parser.ts";

/**
 * Parses a series selector into matchers, as Prometheus' `parser.ParseMetricSelector`: only a
 * plain vector selector is accepted, and it must have a matcher that does not match "".
 */
export function parseSeriesSelector(text: string): Matcher[] {
  let expr;
  try {
    expr = parseExpr(text);
  } catch (err) {
    // The parser's own check fires first; Prometheus' API words this case itself.
    if (err instanceof Error && err.message.endsWith("vector selector must contain at least one non-empty matcher")) {
      throw new Error("match[] must contain at least one non-empty matcher");
    }
    throw err;
  }
  if (expr.kind !== "vectorSelector" || expr.offset !== 0 || expr.timestamp !== null || expr.startOrEnd !== null) {
    throw new Error(`1:1: parse error: expected a series selector, got ${JSON.stringify(text)}`);
  }
  if (expr.matchers.every((m) => m.matches(""))) throw new Error("match[] must contain at least one non-empty matcher");
  return [...expr.matchers];
}
