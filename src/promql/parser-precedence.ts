/**
 * Re-association of binary/unary/postfix chains with Prometheus' precedence. The lezer grammar is
 * loose about postfix modifiers (`[5m]`, `offset`, `@`) and unary minus, so the parser flattens a
 * chain into items and this precedence-climbing parser rebuilds it: postfix binds tightest, then
 * `^` (right-associative), unary minus/plus (like `*`), `* / % atan2`, `+ -`, comparisons,
 * `and unless`, `or`.
 */
import type { BinaryOp, Expr, PosRange, VectorMatching } from "./ast.ts";

/** One element of a flattened binary/unary/postfix chain. */
export type Item =
  | { readonly t: "operand"; readonly e: Expr }
  | { readonly t: "unary"; readonly op: "-" | "+"; readonly start: number }
  | {
      readonly t: "bin";
      readonly op: BinaryOp;
      readonly bool: boolean;
      readonly matching: MatchingClause | null;
      readonly fill: { lhs: number | null; rhs: number | null } | null;
      readonly pos: PosRange;
    }
  | { readonly t: "post"; readonly apply: (e: Expr) => Expr };

/** `on(...)`/`ignoring(...)` and `group_left/right(...)` of a binary operator. */
export interface MatchingClause {
  readonly on: boolean;
  readonly labels: string[];
  readonly group: "left" | "right" | null;
  readonly include: string[];
}

/** Binary operator precedence, Prometheus' order (higher binds tighter). */
export const PREC: Record<BinaryOp, number> = {
  or: 1, and: 2, unless: 2,
  "==": 3, "!=": 3, ">": 3, "<": 3, ">=": 3, "<=": 3,
  "+": 4, "-": 4,
  "*": 5, "/": 5, "%": 5, atan2: 5,
  "^": 6,
};

/** Precedence-climbing over flattened items (Prometheus: postfix > ^ > unary = * > + > cmp > and > or). */
export class ItemParser {
  i = 0;
  constructor(
    private readonly items: Item[],
    private readonly fail: (msg: string, from: number, to: number) => Error,
  ) {}

  parseBinary(minPrec: number): Expr {
    let lhs = this.parseUnary();
    for (;;) {
      const it = this.items[this.i];
      if (!it || it.t !== "bin") break;
      const prec = PREC[it.op];
      if (prec < minPrec) break;
      this.i++;
      const rhs = this.parseBinary(it.op === "^" ? prec : prec + 1);
      lhs = this.makeBinary(lhs, it, rhs);
    }
    return lhs;
  }

  parseUnary(): Expr {
    const it = this.items[this.i];
    if (!it) throw this.fail("unexpected end of input", 0, 0);
    if (it.t === "unary") {
      this.i++;
      const operand = this.parseBinary(PREC["^"]);
      const pos = { start: it.start, end: operand.pos.end };
      if (operand.kind === "number") {
        return { kind: "number", value: it.op === "-" ? -operand.value : operand.value, pos };
      }
      return { kind: "unary", op: it.op, expr: operand, pos };
    }
    if (it.t !== "operand") throw this.fail("unexpected operator", 0, 0);
    this.i++;
    let e = it.e;
    for (let p = this.items[this.i]; p && p.t === "post"; p = this.items[++this.i]) e = p.apply(e);
    return e;
  }

  makeBinary(lhs: Expr, it: Extract<Item, { t: "bin" }>, rhs: Expr): Expr {
    const m = it.matching;
    const matching: VectorMatching = {
      card: m?.group === "left" ? "many-to-one" : m?.group === "right" ? "one-to-many" : "one-to-one",
      on: m?.on ?? false,
      matchingLabels: m?.labels ?? [],
      include: m?.include ?? [],
      ...(it.fill ? { fillLHS: it.fill.lhs, fillRHS: it.fill.rhs } : {}),
    };
    return {
      kind: "binary", op: it.op, lhs, rhs, returnBool: it.bool, matching,
      pos: { start: lhs.pos.start, end: rhs.pos.end },
    };
  }
}

