/**
 * The postfix operators of PromQL as AST transformations: `[range]` (matrix selector),
 * `[range:step]` (subquery), `offset` and `@`, with the errors Prometheus raises when they are
 * applied to the wrong operand or twice. The converter (`parser.ts`) re-associates operator
 * chains and applies these in Prometheus' precedence.
 */
import type { SyntaxNode } from "@lezer/common";
import type { AtPreprocessor, Expr, VectorSelector } from "./ast.ts";
import type { DurationNode, ParsedDuration } from "./parser-duration.ts";

/** What the postfix builders need from the tree walker. */
export interface ConvertContext {
  /** A parse error at `[start, end)` of the query. */
  err(msg: string, start: number, end: number): Error;
  /** The query text under `n`. */
  text(n: SyntaxNode): string;
  /** Number literal text (no sign) → value, as Prometheus' `parseNumber`. */
  number(t: string, n: SyntaxNode): number;
  /** A range or step duration node. */
  duration(n: SyntaxNode): ParsedDuration;
  /** An offset duration node (may be negative). */
  offsetDuration(n: SyntaxNode): ParsedDuration;
}

/** Builds the function applying a postfix node (range, subquery, offset, @) to its operand. */
export function postfixOperator(ctx: ConvertContext, n: SyntaxNode): (e: Expr) => Expr {
  const end = n.to;
  switch (n.type.name) {
    case "MatrixSelector": {
      const range = ctx.duration(n.firstChild!.nextSibling!);
      return (e) => {
        if (e.kind !== "vectorSelector") {
          throw ctx.err("ranges only allowed for vector selectors", e.pos.start, end);
        }
        if (e.offset !== 0 || e.offsetExpr) throw ctx.err("no offset modifiers allowed before range", e.pos.start, end);
        if (e.timestamp !== null || e.startOrEnd !== null) throw ctx.err("no @ modifiers allowed before range", e.pos.start, end);
        return {
          kind: "matrixSelector", vectorSelector: e, range: range.ms, ...(range.expr ? { rangeExpr: range.expr } : {}),
          pos: { start: e.pos.start, end },
        };
      };
    }
    case "SubqueryExpr": {
      const durs: SyntaxNode[] = [];
      for (let c = n.firstChild!.nextSibling; c; c = c.nextSibling) if (c.type.name === "DurationExpr") durs.push(c);
      const range = ctx.duration(durs[0]!);
      const step = durs[1] ? ctx.duration(durs[1]) : { ms: 0 };
      return (e) => ({
        kind: "subquery", expr: e, range: range.ms, step: step.ms, offset: 0, timestamp: null, startOrEnd: null,
        ...(range.expr ? { rangeExpr: range.expr } : {}),
        ...(step.expr ? { stepExpr: step.expr } : {}),
        pos: { start: e.pos.start, end },
      });
    }
    case "OffsetExpr": {
      const d = n.lastChild!;
      const offset = ctx.offsetDuration(d);
      return (e) => withModifiers(ctx, e, end, "offset", (m) => {
        if (m.offset !== 0 || m.offsetExpr) throw ctx.err("offset may not be set multiple times", e.pos.start, end);
        return { ...m, offset: offset.ms, ...(offset.expr ? { offsetExpr: offset.expr } : {}) };
      });
    }
    case "StepInvariantExpr": {
      const last = n.lastChild!;
      let ts: number | null = null;
      let se: AtPreprocessor | null = null;
      let atError = "";
      let node = last;
      if (last.type.name !== "NumberDurationLiteral") {
        // "start" "(" ")" — find the AtModifierPreprocessors child.
        for (let c = n.firstChild!.nextSibling; c; c = c.nextSibling) if (c.type.name === "AtModifierPreprocessors") node = c;
        se = node.firstChild?.type.name === "AtEnd" ? "end" : "start";
      } else {
        const t = ctx.text(last);
        const neg = t.startsWith("-");
        const v = ctx.number(t.replace(/^[-+]\s*/, ""), last) * (neg ? -1 : 1);
        const ms = Math.round(v * 1000);
        // Prometheus bounds the seconds by int64 and reports the modified expression's position.
        if (!Number.isFinite(v) || Math.abs(v) >= 9.223372036854776e18 || Math.abs(ms) > 9.223372036854776e18) {
          atError = `timestamp out of bounds for @ modifier: ${goFloatF(v)}`;
        }
        ts = ms;
      }
      return (e) => withModifiers(ctx, e, end, "@", (m) => {
        if (atError) throw ctx.err(atError, e.pos.start, e.pos.end);
        if (m.timestamp !== null || m.startOrEnd !== null) throw ctx.err("@ <timestamp> may not be set multiple times", e.pos.start, end);
        return { ...m, timestamp: ts, startOrEnd: se };
      });
    }
  }
  throw ctx.err(`unexpected ${n.type.name}`, n.from, n.to);
}

/** Applies offset/@ to a selector or subquery (through a matrix selector to its vector selector). */
function withModifiers(ctx: ConvertContext, e: Expr, end: number, what: string, f: (m: Mods) => Mods): Expr {
  const pos = { start: e.pos.start, end };
  if (e.kind === "vectorSelector") return { ...e, ...f(e as VectorSelector & Mods), pos };
  if (e.kind === "subquery") return { ...e, ...f(e as typeof e & Mods), pos };
  if (e.kind === "matrixSelector") {
    const vs = { ...e.vectorSelector, ...f(e.vectorSelector as VectorSelector & Mods) };
    return { ...e, vectorSelector: vs, pos };
  }
  throw ctx.err(
    `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`,
    e.pos.start, end,
  );
}

/** Go's `%f` of a float: six decimals, `+Inf`, `-Inf`, `NaN`. */
function goFloatF(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  if (Math.abs(v) >= 1e21) return `${BigInt(v).toString()}.000000`;
  return v.toFixed(6);
}

type Mods = { offset: number; timestamp: number | null; startOrEnd: AtPreprocessor | null; offsetExpr?: DurationNode };
