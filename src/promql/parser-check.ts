/**
 * Type checking of a parsed expression, as Prometheus' `parser.checkAST`: operand types of
 * operators, function argument types and counts, aggregation parameters, selector sanity. Messages
 * use Prometheus' wording so clients see the same errors.
 */
import { matchesEmpty } from "../model/matcher.ts";
import {
  documentedType, exprType, isComparisonOp, isSetOp, type Expr, type PosRange, type ValueType,
} from "./ast.ts";
import { getFunction } from "./function-table.ts";

type MkErr = (msg: string, pos: PosRange) => Error;

/** Checks `e` recursively; throws the first error. May null out `matching` of non-vector binaries. */
export function checkAst(e: Expr, _q: string, opts: { experimentalFunctions?: boolean }, mkErr: MkErr): ValueType {
  const check = (n: Expr): ValueType => checkAst(n, _q, opts, mkErr);
  const expect = (n: Expr, want: ValueType, context: string): void => {
    const t = exprType(n);
    if (t !== want) {
      throw mkErr(`expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`, n.pos);
    }
  };
  switch (e.kind) {
    case "number":
    case "string":
      return exprType(e);
    case "paren":
      check(e.expr);
      return exprType(e);
    case "unary": {
      check(e.expr);
      const t = exprType(e.expr);
      if (t !== "scalar" && t !== "vector") {
        throw mkErr(`unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(documentedType(t))}`, e.pos);
      }
      return t;
    }
    case "vectorSelector": {
      if (e.matchers.every((m) => matchesEmpty(m))) {
        throw mkErr("vector selector must contain at least one non-empty matcher", e.pos);
      }
      return "vector";
    }
    case "matrixSelector":
      check(e.vectorSelector);
      if (e.range <= 0 && !e.rangeExpr) throw mkErr(`range selector must be positive, got ${e.range}ms`, e.pos);
      return "matrix";
    case "subquery": {
      check(e.expr);
      const t = exprType(e.expr);
      // Prometheus prints the value type's own name here ("matrix"), not the documented one.
      if (t !== "vector") throw mkErr(`subquery is only allowed on instant vector, got ${t} instead`, e.pos);
      if (e.range <= 0 && !e.rangeExpr) throw mkErr(`subquery range must be positive, got ${e.range}ms`, e.pos);
      if (e.step < 0) throw mkErr(`subquery step must be positive, got ${e.step}ms`, e.pos);
      return "matrix";
    }
    case "aggregate": {
      if (e.param) check(e.param);
      check(e.expr);
      expect(e.expr, "vector", "aggregation expression");
      if (e.op === "topk" || e.op === "bottomk" || e.op === "quantile" || e.op === "limitk" || e.op === "limit_ratio") {
        expect(e.param!, "scalar", "aggregation parameter");
      }
      if (e.op === "count_values") expect(e.param!, "string", "aggregation parameter");
      if ((e.op === "limitk" || e.op === "limit_ratio") && !opts.experimentalFunctions) {
        throw mkErr("limitk() and limit_ratio() are experimental and must be enabled with --enable-feature=promql-experimental-functions", e.pos);
      }
      return "vector";
    }
    case "call": {
      const f = getFunction(e.func);
      if (!f) throw mkErr(`unknown function with name ${JSON.stringify(e.func)}`, e.pos);
      if (f.experimental && !opts.experimentalFunctions) throw mkErr(`function ${JSON.stringify(e.func)} is not enabled`, e.pos);
      const nargs = f.argTypes.length;
      const got = e.args.length;
      if (f.variadic === 0) {
        if (nargs !== got) throw mkErr(`expected ${nargs} argument(s) in call to ${JSON.stringify(f.name)}, got ${got}`, e.pos);
      } else {
        const na = nargs - 1;
        if (na > got) throw mkErr(`expected at least ${na} argument(s) in call to ${JSON.stringify(f.name)}, got ${got}`, e.pos);
        if (f.variadic > 0 && na + f.variadic < got) {
          throw mkErr(`expected at most ${na + f.variadic} argument(s) in call to ${JSON.stringify(f.name)}, got ${got}`, e.pos);
        }
      }
      if (f.name === "info" && e.args.length > 1) {
        const sel = e.args[1]!;
        if (exprType(sel) !== "vector") {
          throw mkErr(`expected type instant vector in call to function "info", got ${documentedType(exprType(sel))}`, e.pos);
        }
        if (sel.kind !== "vectorSelector") throw mkErr("expected label selectors only", sel.pos);
        if (sel.name !== "") throw mkErr("expected label selectors only, got vector selector instead", sel.pos);
      }
      e.args.forEach((a, i) => {
        // info()'s label selector may consist of matchers that all match the empty string.
        if (!(f.name === "info" && i === 1)) check(a);
        const want = f.argTypes[Math.min(i, nargs - 1)]!;
        expect(a, want, `call to function ${JSON.stringify(f.name)}`);
      });
      return f.returnType;
    }
    case "binary": {
      const lt = check(e.lhs);
      const rt = check(e.rhs);
      // Prometheus reports these at the operator: from the first non-space after the left operand.
      const opPos = (): PosRange => {
        let start = e.lhs.pos.end;
        while (start < _q.length && /[ \t\n\r]/.test(_q[start]!)) start++;
        let end = e.rhs.pos.start - 1;
        while (end > start && /[ \t\n\r]/.test(_q[end]!)) end--;
        return { start, end };
      };
      if (e.returnBool && !isComparisonOp(e.op)) {
        throw mkErr("bool modifier can only be used on comparison operators", opPos());
      }
      if (isComparisonOp(e.op) && !e.returnBool && lt === "scalar" && rt === "scalar") {
        throw mkErr("comparisons between scalars must use BOOL modifier", opPos());
      }
      const m = e.matching;
      if (m && isSetOp(e.op) && m.card === "one-to-one") (m as { card: string }).card = "many-to-many";
      if (m && m.on) {
        for (const l of m.matchingLabels) {
          if (m.include.includes(l)) throw mkErr(`label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`, opPos());
        }
      }
      if (lt !== "scalar" && lt !== "vector") throw mkErr("binary expression must contain only scalar and instant vector types", e.lhs.pos);
      if (rt !== "scalar" && rt !== "vector") throw mkErr("binary expression must contain only scalar and instant vector types", e.rhs.pos);
      const hasFill = m !== null && ((m.fillLHS ?? null) !== null || (m.fillRHS ?? null) !== null);
      if ((lt !== "vector" || rt !== "vector") && m) {
        if (m.matchingLabels.length > 0) throw mkErr("vector matching only allowed between instant vectors", e.pos);
        if (hasFill) throw mkErr("filling in missing series only allowed between instant vectors", e.pos);
        (e as { matching: unknown }).matching = null;
      } else if (m && isSetOp(e.op)) {
        if (m.card === "many-to-one" || m.card === "one-to-many") throw mkErr(`no grouping allowed for "${e.op}" operation`, e.pos);
        if (hasFill) throw mkErr("filling in missing series not allowed for set operators", e.pos);
      }
      if ((lt === "scalar" || rt === "scalar") && isSetOp(e.op)) {
        throw mkErr(`set operator "${e.op}" not allowed in binary scalar expression`, e.pos);
      }
      return exprType(e);
    }
  }
}
