/**
 * promqltest's extra checks for instant evals (`atModifierTestCases`): the expression is rewritten
 * with `@ <eval time>` on every selector and subquery that has none (not descending into
 * subqueries, which get the modifier themselves) and evaluated at other times — the result must not
 * change. Skipped when the expression calls a function whose result depends on the evaluation time.
 * The rewrite is textual, at node end positions from Meridian's parser.
 */
import { walkExpr, type Expr } from "../ast.ts";
import { parseExpr } from "../parser.ts";

/** Functions Prometheus lists as `AtModifierUnsafeFunctions`. */
const UNSAFE = new Set(["days_in_month", "day_of_month", "day_of_week", "day_of_year", "end", "hour", "minute", "month", "year", "predict_linear", "range", "start", "step", "time", "timestamp"]);

/** One extra query: the rewritten expression evaluated at `timeMs`. */
export interface AtVariant {
  readonly expr: string;
  readonly timeMs: number;
}

/**
 * The variants Prometheus runs for an instant eval at `timeMs`: `-10t, 0, t/5, t, 10t` (or
 * `-1000, 0, 1000` ms when t = 0). Returns [] when the expression cannot be parsed or uses an unsafe
 * function.
 */
export function atModifierVariants(expr: string, timeMs: number): AtVariant[] {
  let root: Expr;
  try {
    root = parseExpr(expr, { experimentalFunctions: true });
  } catch {
    return [];
  }
  const inserts: number[] = [];
  let unsafe = false;
  const visit = (e: Expr, underMatrix: boolean): void => {
    switch (e.kind) {
      case "vectorSelector":
        if (!underMatrix && e.timestamp === null && e.startOrEnd === null) inserts.push(e.pos.end);
        return;
      case "matrixSelector":
        if (e.vectorSelector.timestamp === null && e.vectorSelector.startOrEnd === null) inserts.push(e.pos.end);
        return;
      case "subquery":
        if (e.timestamp === null && e.startOrEnd === null) inserts.push(e.pos.end);
        // Prometheus leaves everything inside a subquery alone, but still looks for unsafe calls.
        walkExpr(e.expr, (n) => {
          if (n.kind === "call" && UNSAFE.has(n.func)) unsafe = true;
        });
        return;
      case "call":
        if (UNSAFE.has(e.func)) unsafe = true;
        for (const a of e.args) visit(a, false);
        return;
      case "binary":
        visit(e.lhs, false);
        visit(e.rhs, false);
        return;
      case "aggregate":
        if (e.param) visit(e.param, false);
        visit(e.expr, false);
        return;
      case "unary":
      case "paren":
        visit(e.expr, false);
        return;
      default:
        return;
    }
  };
  visit(root, false);
  if (unsafe) return [];
  const at = ` @ ${(timeMs / 1000).toFixed(3)}`;
  let out = expr;
  for (const p of [...inserts].sort((a, b) => b - a)) out = out.slice(0, p) + at + out.slice(p);
  const times = timeMs === 0 ? [-1000, 0, 1000] : [-10 * timeMs, 0, Math.trunc(timeMs / 5), timeMs, 10 * timeMs];
  return times.map((t) => ({ expr: out, timeMs: t }));
}
