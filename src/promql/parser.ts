/**
 * PromQL parser: runs the lezer grammar Prometheus' UI uses (`@prometheus-io/lezer-promql`), then
 * walks its concrete tree into Meridian's typed AST (`ast.ts`) and type-checks it as Prometheus'
 * `parser.checkAST` does. The lezer grammar is written for editors and is loose about the
 * precedence of postfix modifiers (`[5m]`, `offset`, `@`) and unary minus, so binary/unary chains
 * are flattened and re-associated here with Prometheus' precedence rules. Before lezer runs, a
 * Prometheus-compatible lexer and syntax check (`parser-syntax.ts`) report invalid queries with
 * Prometheus 3's messages and positions.
 */
import { parser as lezer } from "@prometheus-io/lezer-promql";
import type { SyntaxNode } from "@lezer/common";
import { METRIC_NAME } from "../model/labels.ts";
import { createMatcher, type MatchType, type Matcher, MatcherError } from "../model/matcher.ts";
import { DurationError, parseDuration } from "../model/duration.ts";
import type { AggregateOp, BinaryOp, Expr, VectorSelector } from "./ast.ts";
import { checkAst } from "./parser-check.ts";
import { parseDurationExpr, type ParsedDuration } from "./parser-duration.ts";
import { ParseError } from "./parser-error.ts";
import { reportLezerError } from "./parser-lezer-errors.ts";
import { postfixOperator, type ConvertContext } from "./parser-postfix.ts";
import { ItemParser, type Item, type MatchingClause } from "./parser-precedence.ts";
import { checkSyntax } from "./parser-syntax.ts";
import { maskScalarOfFunctions, maskTrailingDots, unquoteString } from "./parser-text.ts";

export { ParseError } from "./parser-error.ts";

/** Options of {@link parseExpr}. */
export interface ParseOptions {
  /** Allow functions Prometheus keeps behind `promql-experimental-functions` (limitk, sort_by_label, ...). */
  readonly experimentalFunctions?: boolean;
  /** Allow `fill(v)`, `fill_left(v)`, `fill_right(v)` (Prometheus `promql-binop-fill-modifiers`). */
  readonly binopFillModifiers?: boolean;
  /** Allow duration arithmetic and `step()`/`range()` in brackets and offsets (`promql-duration-expr`). */
  readonly durationExpressions?: boolean;
  /** Allow `anchored`/`smoothed` range selectors (`promql-extended-range-selectors`). */
  readonly extendedRangeSelectors?: boolean;
}

/** Parses and type-checks a PromQL expression. Throws {@link ParseError}. */
export function parseExpr(query: string, opts: ParseOptions = {}): Expr {
  const p = new Converter(query, opts);
  return p.run();
}

const BIN_TOKENS: Record<string, BinaryOp> = {
  Pow: "^", Mul: "*", Div: "/", Mod: "%", Atan2: "atan2", Add: "+", Sub: "-",
  Eql: "==", Gte: ">=", Gtr: ">", Lte: "<=", Lss: "<", Neq: "!=",
  And: "and", Unless: "unless", Or: "or",
};

const MATCH_OPS: Record<string, MatchType> = { EqlSingle: "=", Neq: "!=", EqlRegex: "=~", NeqRegex: "!~" };

const AGG_OPS = new Set<string>([
  "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
  "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio",
]);

/** Walks one lezer tree. */
class Converter implements ConvertContext {
  /** Offsets of `min_of`/`max_of` calls that were masked as `minute` for lezer, with their real names. */
  readonly renamed = new Map<number, string>();

  constructor(
    private readonly q: string,
    private readonly opts: ParseOptions,
  ) {}

  run(): Expr {
    if (this.q.trim() === "") throw this.err("no expression found in input", 0, 0);
    // Prometheus-worded syntax errors first; lezer then builds the AST of a syntactically valid query.
    const offsetNames = checkSyntax(this.q, this.opts, (msg, start, end) => this.err(msg, start, end));
    let masked = maskScalarOfFunctions(maskTrailingDots(this.q), this.renamed);
    // A metric named `offset` is a keyword to lezer: give lezer a same-length identifier instead
    // (the AST takes names from the original text).
    for (const at of offsetNames) masked = `${masked.slice(0, at + 5)}_${masked.slice(at + 6)}`;
    const tree = lezer.parse(masked);
    const top = tree.topNode;
    reportLezerError(top, this.q, (msg, start, end) => this.err(msg, start, end));
    const first = top.firstChild;
    if (!first) throw this.err("no expression found in input", 0, 0);
    const expr = this.convert(first);
    checkAst(expr, this.q, this.opts, (msg, pos) => new ParseError(msg, pos, this.q));
    return expr;
  }

  err(msg: string, start: number, end: number): ParseError {
    return new ParseError(msg, { start, end }, this.q);
  }

  text(n: SyntaxNode): string {
    return this.q.slice(n.from, n.to);
  }

  /** Converts one expression node; binary/unary/postfix chains are re-associated. */
  convert(n: SyntaxNode): Expr {
    const items: Item[] = [];
    this.flatten(n, items);
    const r = new ItemParser(items, (msg, from, to) => this.err(msg, from, to));
    const e = r.parseBinary(0);
    if (r.i !== items.length) throw this.err("unexpected expression", n.from, n.to);
    return e;
  }

  flatten(n: SyntaxNode, out: Item[]): void {
    switch (n.type.name) {
      case "BinaryExpr":
        return this.flattenBinary(n, out);
      case "UnaryExpr": {
        const op = n.firstChild!;
        out.push({ t: "unary", op: this.text(op) as "-" | "+", start: op.from });
        return this.flatten(op.nextSibling!, out);
      }
      case "NumberDurationLiteral": {
        const t = this.text(n);
        if (t[0] === "-" || t[0] === "+") {
          out.push({ t: "unary", op: t[0], start: n.from });
          out.push({ t: "operand", e: { kind: "number", value: this.number(t.slice(1).trim(), n), pos: { start: n.from + 1, end: n.to } } });
        } else {
          out.push({ t: "operand", e: { kind: "number", value: this.number(t, n), pos: { start: n.from, end: n.to } } });
        }
        return;
      }
      case "MatrixSelector":
      case "SubqueryExpr":
      case "OffsetExpr":
      case "StepInvariantExpr": {
        this.flatten(n.firstChild!, out);
        out.push({ t: "post", apply: postfixOperator(this, n) });
        return;
      }
      case "AnchoredExpr":
      case "SmoothedExpr": {
        const which = n.type.name === "AnchoredExpr" ? "anchored" : "smoothed";
        if (!this.opts.extendedRangeSelectors) throw this.err(`the ${which} modifier is experimental and not enabled`, n.from, n.to);
        this.flatten(n.firstChild!, out);
        const end = n.to;
        out.push({
          t: "post",
          apply: (e) => {
            const flag = which === "anchored" ? { anchored: true } : { smoothed: true };
            if (e.kind === "vectorSelector") return { ...e, ...flag, pos: { start: e.pos.start, end } };
            if (e.kind === "matrixSelector") {
              return { ...e, vectorSelector: { ...e.vectorSelector, ...flag }, pos: { start: e.pos.start, end } };
            }
            throw this.err(`${which} modifier must be preceded by an instant vector selector or range vector selector`, e.pos.start, end);
          },
        });
        return;
      }
      default:
        out.push({ t: "operand", e: this.primary(n) });
    }
  }

  flattenBinary(n: SyntaxNode, out: Item[]): void {
    const lhs = n.firstChild!;
    const opNode = lhs.nextSibling!;
    const op = BIN_TOKENS[opNode.type.name];
    if (!op) throw this.err(`unexpected ${JSON.stringify(this.text(opNode))}`, opNode.from, opNode.to);
    let bool = false;
    let matching: MatchingClause | null = null;
    let fill: { lhs: number | null; rhs: number | null } | null = null;
    let rhs = opNode.nextSibling!;
    for (;;) {
      const name = rhs.type.name;
      if (name === "BoolModifier") bool = true;
      else if (name === "MatchingModifierClause") matching = this.matchingClause(rhs);
      else if (name === "FillModifier") {
        if (!this.opts.binopFillModifiers) {
          throw this.err("binop fill modifiers are experimental and not enabled", rhs.from, rhs.to);
        }
        fill = this.fillModifier(rhs);
      }
      else break;
      rhs = rhs.nextSibling!;
    }
    this.flatten(lhs, out);
    out.push({ t: "bin", op, bool, matching, fill, pos: { start: opNode.from, end: opNode.to } });
    this.flatten(rhs, out);
  }

  /** `fill(v)`, `fill_left(v)`, `fill_right(v)` (experimental binop fill modifiers). */
  fillModifier(n: SyntaxNode): { lhs: number | null; rhs: number | null } {
    const out: { lhs: number | null; rhs: number | null } = { lhs: null, rhs: null };
    for (let c = n.firstChild; c; c = c.nextSibling) {
      const lit = c.getChild("NumberDurationLiteral");
      if (!lit) continue;
      const t = this.text(lit).replace(/\s+/g, "");
      const neg = t.startsWith("-");
      const v = this.number(t.replace(/^[-+]/, ""), lit) * (neg ? -1 : 1);
      if (c.type.name === "FillClause") {
        out.lhs = v;
        out.rhs = v;
      } else if (c.type.name === "FillLeftClause") out.lhs = v;
      else if (c.type.name === "FillRightClause") out.rhs = v;
    }
    return out;
  }

  matchingClause(n: SyntaxNode): MatchingClause {
    let c = n.firstChild!;
    const on = c.type.name === "On";
    c = c.nextSibling!;
    const labels = this.groupingLabels(c);
    let group: "left" | "right" | null = null;
    let include: string[] = [];
    const g = c.nextSibling;
    if (g) {
      group = g.type.name === "GroupLeft" ? "left" : "right";
      if (g.nextSibling) include = this.groupingLabels(g.nextSibling);
    }
    return { on, labels, group, include };
  }

  groupingLabels(n: SyntaxNode): string[] {
    const out: string[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.type.name === "LabelName") out.push(this.text(c));
      else if (c.type.name === "QuotedLabelName") out.push(this.unquote(c.firstChild ?? c));
    }
    return out;
  }

  primary(n: SyntaxNode): Expr {
    const pos = { start: n.from, end: n.to };
    switch (n.type.name) {
      case "StringLiteral":
        return { kind: "string", value: this.unquote(n), pos };
      case "ParenExpr":
        return { kind: "paren", expr: this.convert(n.firstChild!), pos };
      case "VectorSelector":
        return this.vectorSelector(n);
      case "FunctionCall":
        return this.call(n);
      case "AggregateExpr":
        return this.aggregate(n);
      case "NumberDurationLiteral":
        return { kind: "number", value: this.number(this.text(n), n), pos };
    }
    throw this.err(`unexpected ${JSON.stringify(this.text(n))}`, n.from, n.to);
  }

  vectorSelector(n: SyntaxNode): VectorSelector {
    let name = "";
    const matchers: Matcher[] = [];
    let nameNode: SyntaxNode | null = null;
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.type.name === "Identifier") {
        name = this.text(c);
        nameNode = c;
      } else if (c.type.name === "LabelMatchers") {
        for (let m = c.firstChild; m; m = m.nextSibling) {
          const t = m.type.name;
          if (t === "QuotedLabelName") {
            // `{"metric.name"}`: a bare quoted name is a `__name__` matcher; as in Prometheus 3 the
            // selector's name stays empty, and only a name outside the braces conflicts with it.
            matchers.push(this.matcher("=", METRIC_NAME, this.unquote(m.firstChild ?? m), m));
          } else if (t === "UnquotedLabelMatcher" || t === "QuotedLabelMatcher") {
            const ln = m.firstChild!;
            const op = ln.nextSibling!;
            const val = op.nextSibling!;
            const lname = t === "QuotedLabelMatcher" ? this.unquote(ln.firstChild ?? ln) : this.text(ln);
            const mt = MATCH_OPS[op.firstChild?.type.name ?? ""];
            if (!mt || !val) throw this.err("unexpected label matcher", m.from, m.to);
            matchers.push(this.matcher(mt, lname, this.unquote(val), m));
          }
        }
      }
    }
    if (name !== "") {
      for (const m of matchers) {
        if (m.name === METRIC_NAME) {
          throw this.err(`metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(m.value)}`, n.from, n.to);
        }
      }
      matchers.unshift(this.matcher("=", METRIC_NAME, name, nameNode ?? n));
    }
    return {
      kind: "vectorSelector", name, matchers, offset: 0, timestamp: null, startOrEnd: null,
      pos: { start: n.from, end: n.to },
    };
  }

  matcher(type: MatchType, name: string, value: string, n: SyntaxNode): Matcher {
    try {
      if (type === "=~" || type === "!~") return createMatcher(type, name, value);
      return createMatcher(type, name, value);
    } catch (e) {
      if (e instanceof MatcherError) throw this.err(e.message, n.from, n.to);
      throw e;
    }
  }

  call(n: SyntaxNode): Expr {
    const id = n.firstChild!;
    const name = this.renamed.get(id.from) ?? this.text(id);
    const args = this.callArgs(id.nextSibling!);
    return { kind: "call", func: name, args, pos: { start: n.from, end: n.to } };
  }

  callArgs(body: SyntaxNode): Expr[] {
    const args: Expr[] = [];
    for (let c = body.firstChild; c; c = c.nextSibling) {
      if (c.type.isError) throw this.err("unexpected token", c.from, c.to);
      if (c.type.isSkipped || c.name === "(" || c.name === ")" || c.name === ",") continue;
      args.push(this.convert(c));
    }
    return args;
  }

  aggregate(n: SyntaxNode): Expr {
    let op = "";
    let grouping: string[] = [];
    let without = false;
    let args: Expr[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) {
      const t = c.type.name;
      if (t === "AggregateOp") op = this.text(c).toLowerCase();
      else if (t === "AggregateModifier") {
        without = c.firstChild!.type.name === "Without";
        grouping = this.groupingLabels(c.lastChild!);
      } else if (t === "FunctionCallBody") args = this.callArgs(c);
    }
    if (!AGG_OPS.has(op)) throw this.err(`unknown aggregation ${JSON.stringify(op)}`, n.from, n.to);
    const pos = { start: n.from, end: n.to };
    if (args.length === 0) throw this.err("no arguments for aggregate expression provided", pos.start, pos.end);
    const withParam = op === "topk" || op === "bottomk" || op === "quantile" || op === "count_values" || op === "limitk" || op === "limit_ratio";
    const want = withParam ? 2 : 1;
    if (args.length !== want) {
      throw this.err(`wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`, pos.start, pos.end);
    }
    return {
      kind: "aggregate", op: op as AggregateOp, expr: args[want - 1]!, param: withParam ? args[0]! : null,
      grouping, without, pos,
    };
  }

  /** Number literal text (no sign) → value, as Prometheus' `parseNumber` (ints with base prefix, durations as seconds). */
  number(t: string, n: SyntaxNode): number {
    const lower = t.toLowerCase();
    if (lower === "inf") return Infinity;
    if (lower === "nan") return NaN;
    if (/^0x[0-9a-f_]+$/.test(lower)) return parseInt(lower.slice(2).replace(/_/g, ""), 16);
    if (/^0[0-7_]+$/.test(lower)) return parseInt(lower.replace(/_/g, ""), 8);
    if (/^(\d+(ms|s|m|h|d|w|y))+$/.test(lower)) {
      try {
        return parseDuration(lower) / 1000;
      } catch (e) {
        if (e instanceof DurationError) throw this.err(e.message, n.from, n.to);
        throw e;
      }
    }
    const v = Number(lower.replace(/_/g, ""));
    if (Number.isNaN(v)) throw this.err(`bad number or duration syntax: ${JSON.stringify(t)}`, n.from, n.to);
    return v;
  }

  /** A DurationExpr node → ms (or an expression over step()/range()). */
  duration(n: SyntaxNode): ParsedDuration {
    return parseDurationExpr(n, this.q, (msg, from, to) => this.err(msg, from, to), false, this.opts.durationExpressions ?? false);
  }

  offsetDuration(n: SyntaxNode): ParsedDuration {
    return parseDurationExpr(n, this.q, (msg, from, to) => this.err(msg, from, to), true, this.opts.durationExpressions ?? false);
  }

  /** Go-style unquoting of a StringLiteral node. */
  unquote(n: SyntaxNode): string {
    const s = this.text(n);
    try {
      return unquoteString(s);
    } catch (e) {
      throw this.err((e as Error).message, n.from, n.to);
    }
  }
}

export { unquoteString };
