/**
 * Meridian's typed PromQL syntax tree. The parser (`parser.ts`) builds it from the lezer grammar's
 * concrete tree; the engine and storage hints read it. Shapes follow Prometheus' `parser` package
 * (`VectorSelector`, `MatrixSelector`, `SubqueryExpr`, ...) so its semantics map one to one.
 * Durations and times are milliseconds.
 */
import type { Matcher } from "../model/matcher.ts";
import { getFunction } from "./function-table.ts";
import type { DurationNode } from "./parser-duration.ts";

/** Source range of a node, as offsets into the query text (end exclusive). */
export interface PosRange {
  readonly start: number;
  readonly end: number;
}

/** Types an expression can evaluate to (Prometheus' `ValueType`). */
export type ValueType = "scalar" | "vector" | "matrix" | "string";

/** Binary operators, as written in PromQL. */
export type BinaryOp =
  | "+" | "-" | "*" | "/" | "%" | "^" | "atan2"
  | "==" | "!=" | ">" | "<" | ">=" | "<="
  | "and" | "or" | "unless";

/** Aggregation operators. */
export type AggregateOp =
  | "sum" | "avg" | "min" | "max" | "count" | "group" | "stddev" | "stdvar"
  | "topk" | "bottomk" | "quantile" | "count_values" | "limitk" | "limit_ratio";

/** `@ start()` / `@ end()` preprocessors. */
export type AtPreprocessor = "start" | "end";

/** A number literal, e.g. `1.5`, `0x1f`, `Inf`, or a duration used as a number (`5m` = 300). */
export interface NumberLiteral {
  readonly kind: "number";
  readonly value: number;
  readonly pos: PosRange;
}

/** A string literal (already unquoted). */
export interface StringLiteral {
  readonly kind: "string";
  readonly value: string;
  readonly pos: PosRange;
}

/** Offset and `@` modifiers shared by selectors and subqueries. */
export interface TimeModifiers {
  /** Offset in ms (negative allowed). */
  readonly offset: number;
  /** Absolute evaluation time from `@ <ts>` in ms, or null. */
  readonly timestamp: number | null;
  /** `@ start()` / `@ end()`, resolved by the engine, or null. */
  readonly startOrEnd: AtPreprocessor | null;
  /** Experimental duration expression of the offset using `step()`/`range()`; resolved by the engine. */
  readonly offsetExpr?: DurationNode;
}

/** An instant vector selector: `name{l="v"} offset 5m @ 123`. */
export interface VectorSelector extends TimeModifiers {
  readonly kind: "vectorSelector";
  /** Metric name when written as a bare identifier or `{"name"}`, else "". */
  readonly name: string;
  /** All matchers, including the one for `__name__` derived from `name`. */
  readonly matchers: readonly Matcher[];
  /** Experimental `anchored` / `smoothed` modifiers (promql-extended-range-selectors). */
  readonly anchored?: boolean;
  readonly smoothed?: boolean;
  readonly pos: PosRange;
}

/** A range vector selector: `x[5m]`. Offset/@ live on the inner vector selector. */
export interface MatrixSelector {
  readonly kind: "matrixSelector";
  readonly vectorSelector: VectorSelector;
  /** Range in ms. */
  readonly range: number;
  /** Experimental duration expression of the range (resolved by the engine). */
  readonly rangeExpr?: DurationNode;
  readonly pos: PosRange;
}

/** A subquery: `expr[range:step] offset ... @ ...`. */
export interface SubqueryExpr extends TimeModifiers {
  readonly kind: "subquery";
  readonly expr: Expr;
  readonly range: number;
  /** Step in ms; 0 means "use the default (the query step or 1m)". */
  readonly step: number;
  readonly rangeExpr?: DurationNode;
  readonly stepExpr?: DurationNode;
  readonly pos: PosRange;
}

/** Vector matching of a binary operation between two instant vectors. */
export interface VectorMatching {
  /** Prometheus' cardinality: one-to-one, many-to-one (group_left), one-to-many (group_right), many-to-many (set ops). */
  readonly card: "one-to-one" | "many-to-one" | "one-to-many" | "many-to-many";
  /** True for `on(...)`, false for `ignoring(...)` (or no clause). */
  readonly on: boolean;
  readonly matchingLabels: readonly string[];
  /** Extra labels copied from the "one" side (`group_left(a, b)`). */
  readonly include: readonly string[];
  /** Experimental `fill(v)` / `fill_left(v)`: value for a missing left-hand sample. */
  readonly fillLHS?: number | null;
  /** Experimental `fill(v)` / `fill_right(v)`: value for a missing right-hand sample. */
  readonly fillRHS?: number | null;
}

/** A binary operation. */
export interface BinaryExpr {
  readonly kind: "binary";
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** The `bool` modifier of comparisons. */
  readonly returnBool: boolean;
  /** Present only when both sides are instant vectors. */
  readonly matching: VectorMatching | null;
  readonly pos: PosRange;
}

/** A unary `-` or `+`. */
export interface UnaryExpr {
  readonly kind: "unary";
  readonly op: "-" | "+";
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** An aggregation: `sum by (job) (x)`, `topk(3, x)`. */
export interface AggregateExpr {
  readonly kind: "aggregate";
  readonly op: AggregateOp;
  readonly expr: Expr;
  /** Parameter of topk/bottomk/quantile/count_values/limitk/limit_ratio, else null. */
  readonly param: Expr | null;
  readonly grouping: readonly string[];
  /** True for `without (...)`. */
  readonly without: boolean;
  readonly pos: PosRange;
}

/** A function call. */
export interface Call {
  readonly kind: "call";
  readonly func: string;
  readonly args: readonly Expr[];
  readonly pos: PosRange;
}

/** Parentheses, kept so that offset/@ checks and printing behave as Prometheus. */
export interface ParenExpr {
  readonly kind: "paren";
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** Any PromQL expression. */
export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | BinaryExpr
  | UnaryExpr
  | AggregateExpr
  | Call
  | ParenExpr;

/** The type an expression evaluates to, as Prometheus' `Expr.Type()`. */
export function exprType(e: Expr): ValueType {
  switch (e.kind) {
    case "number":
      return "scalar";
    case "string":
      return "string";
    case "vectorSelector":
      return "vector";
    case "matrixSelector":
    case "subquery":
      return "matrix";
    case "unary":
    case "paren":
      return exprType(e.expr);
    case "binary": {
      const l = exprType(e.lhs);
      const r = exprType(e.rhs);
      return l === "scalar" && r === "scalar" ? "scalar" : "vector";
    }
    case "aggregate":
      return "vector";
    case "call":
      return getFunction(e.func)?.returnType ?? "vector";
  }
}

/** Prometheus' documented name of a type, used in error messages ("instant vector", ...). */
export function documentedType(t: ValueType): string {
  switch (t) {
    case "vector":
      return "instant vector";
    case "matrix":
      return "range vector";
    default:
      return t;
  }
}

/** True for `==`, `!=`, `>`, `<`, `>=`, `<=`. */
export function isComparisonOp(op: BinaryOp): boolean {
  return op === "==" || op === "!=" || op === ">" || op === "<" || op === ">=" || op === "<=";
}

/** True for `and`, `or`, `unless`. */
export function isSetOp(op: BinaryOp): boolean {
  return op === "and" || op === "or" || op === "unless";
}

/** Calls `fn` on `e` and every descendant, parents first. */
export function walkExpr(e: Expr, fn: (node: Expr, parents: readonly Expr[]) => void, parents: Expr[] = []): void {
  fn(e, parents);
  parents.push(e);
  for (const c of children(e)) walkExpr(c, fn, parents);
  parents.pop();
}

/** Direct sub-expressions of a node. */
export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case "matrixSelector":
      return [e.vectorSelector];
    case "subquery":
    case "unary":
    case "paren":
      return [e.expr];
    case "binary":
      return [e.lhs, e.rhs];
    case "aggregate":
      return e.param ? [e.param, e.expr] : [e.expr];
    case "call":
      return [...e.args];
    default:
      return [];
  }
}
