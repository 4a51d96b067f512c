/**
 * Durations inside PromQL brackets and after `offset`: a duration literal (`5m`, `1h30m`), a
 * plain number of seconds (`[300]`, allowed since Prometheus 3), or — with the experimental
 * `promql-duration-expr` feature — arithmetic over them, `step()`, `range()`, `min_of`, `max_of`.
 * Constant expressions are folded at parse time; ones using `step()`/`range()` are kept as a
 * {@link DurationNode} tree and resolved by the engine once the query's step and range are known.
 */
import type { SyntaxNode } from "@lezer/common";
import { DurationError, parseDuration } from "../model/duration.ts";

type Fail = (msg: string, from: number, to: number) => Error;

/** A duration expression; numbers are seconds. */
export type DurationNode =
  | { readonly k: "num"; readonly v: number }
  | { readonly k: "step" }
  | { readonly k: "range" }
  | { readonly k: "neg"; readonly e: DurationNode }
  | { readonly k: "bin"; readonly op: "+" | "-" | "*" | "/" | "%" | "^"; readonly l: DurationNode; readonly r: DurationNode }
  | { readonly k: "min" | "max"; readonly a: DurationNode; readonly b: DurationNode };

/** Result of parsing a duration: milliseconds, or an expression needing the query's step/range. */
export type ParsedDuration = { readonly ms: number; readonly expr?: undefined } | { readonly ms: 0; readonly expr: DurationNode };

const BIN: Record<string, "+" | "-" | "*" | "/" | "%" | "^"> = { Add: "+", Sub: "-", Mul: "*", Div: "/", Mod: "%", Pow: "^" };

/**
 * Converts a DurationExpr / OffsetDurationExpr node. Without `allowExpressions` only a literal
 * (and, for offsets, a sign) is accepted, as in Prometheus without the feature flag.
 */
export function parseDurationExpr(n: SyntaxNode, q: string, fail: Fail, allowSign = false, allowExpressions = false): ParsedDuration {
  const first = n.firstChild;
  if (!first) throw fail("unexpected end of input", n.from, n.to);
  if (!allowExpressions) {
    if (first.type.name === "NumberDurationLiteralInDurationContext" && !first.nextSibling) {
      return { ms: literalSeconds(q.slice(first.from, first.to), first.from, first.to, fail) * 1000 };
    }
    // Prometheus folds signs into a literal (`[+5m]`, `offset -1h`) without the feature flag.
    if (first.type.name === "UnaryOp" && first.nextSibling && !first.nextSibling.nextSibling && signedLiteral(first.nextSibling)) {
      const inner = parseDurationExpr(first.nextSibling, q, fail, true, false);
      return { ms: q.slice(first.from, first.to) === "-" ? -inner.ms : inner.ms };
    }
    // Prometheus reports the first non-literal part it reduces (bottom-up, left to right).
    const at = firstExperimental(n, q) ?? n.from;
    throw fail("experimental duration expression is not enabled", at, n.to);
  }
  const node = build(n, q, fail);
  if (usesQueryParams(node)) return { ms: 0, expr: node };
  return { ms: toMs(evalDuration(node, 0, 0)) };
}

/** Whether `n` is a literal with any number of signs in front. */
function signedLiteral(n: SyntaxNode): boolean {
  if (n.type.name === "NumberDurationLiteralInDurationContext") return true;
  const first = n.firstChild;
  if (!first) return false;
  if (first.type.name === "NumberDurationLiteralInDurationContext") return !first.nextSibling;
  if (first.type.name === "UnaryOp") return !!first.nextSibling && !first.nextSibling.nextSibling && signedLiteral(first.nextSibling);
  return false;
}

/**
 * Where Prometheus' parser reports a duration expression used without the feature flag: its
 * grammar checks each parenthesised, binary, step()/range() or min_of/max_of part when it
 * reduces it, so the first such part in post-order is reported (a binary at its left operand,
 * parentheses at their content). Null when `n` holds only literals and signs.
 */
function firstExperimental(n: SyntaxNode, q: string): number | null {
  const kids: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) kids.push(c);
  if (n.type.name === "NumberDurationLiteralInDurationContext") return null;
  let inner: number | null;
  if (kids.length === 1) {
    const k = kids[0]!.type.name;
    if (k === "DurationStep" || k === "DurationRange") return n.from;
    inner = firstExperimental(kids[0]!, q);
  } else if (kids.length === 2 && kids[0]!.type.name === "UnaryOp") {
    inner = firstExperimental(kids[1]!, q);
  } else if (kids.length === 3 && (kids[0]!.type.name === "DurationMinOf" || kids[0]!.type.name === "DurationMaxOf")) {
    return firstExperimental(kids[1]!, q) ?? firstExperimental(kids[2]!, q) ?? n.from;
  } else if (kids.length === 3) {
    return firstExperimental(kids[0]!, q) ?? firstExperimental(kids[2]!, q) ?? kids[0]!.from;
  } else {
    return n.from;
  }
  // Parentheses do not show in the tree: a node starting with "(" before its child wraps it.
  if (q[n.from] === "(" && kids[0]!.from > n.from) return inner ?? kids[0]!.from;
  return inner;
}

function build(n: SyntaxNode, q: string, fail: Fail): DurationNode {
  const kids: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) kids.push(c);
  const name = (i: number): string => kids[i]?.type.name ?? "";
  if (n.type.name === "NumberDurationLiteralInDurationContext") {
    return { k: "num", v: literalSeconds(q.slice(n.from, n.to), n.from, n.to, fail) };
  }
  if (kids.length === 1) {
    const k = name(0);
    if (k === "DurationStep") return { k: "step" };
    if (k === "DurationRange") return { k: "range" };
    return build(kids[0]!, q, fail);
  }
  if (kids.length === 2 && name(0) === "UnaryOp") {
    const e = build(kids[1]!, q, fail);
    return q.slice(kids[0]!.from, kids[0]!.to) === "-" ? { k: "neg", e } : e;
  }
  if (kids.length === 3 && (name(0) === "DurationMinOf" || name(0) === "DurationMaxOf")) {
    return { k: name(0) === "DurationMinOf" ? "min" : "max", a: build(kids[1]!, q, fail), b: build(kids[2]!, q, fail) };
  }
  if (kids.length === 3 && BIN[name(1)]) {
    return { k: "bin", op: BIN[name(1)]!, l: build(kids[0]!, q, fail), r: build(kids[2]!, q, fail) };
  }
  throw fail(`unexpected duration expression ${JSON.stringify(q.slice(n.from, n.to))}`, n.from, n.to);
}

function usesQueryParams(d: DurationNode): boolean {
  switch (d.k) {
    case "num": return false;
    case "step": case "range": return true;
    case "neg": return usesQueryParams(d.e);
    case "bin": return usesQueryParams(d.l) || usesQueryParams(d.r);
    default: return usesQueryParams(d.a) || usesQueryParams(d.b);
  }
}

/** Evaluates a duration expression to seconds, given the query step and range in ms. */
export function evalDuration(d: DurationNode, stepMs: number, rangeMs: number): number {
  switch (d.k) {
    case "num": return d.v;
    case "step": return stepMs / 1000;
    case "range": return rangeMs / 1000;
    case "neg": return -evalDuration(d.e, stepMs, rangeMs);
    case "min": return Math.min(evalDuration(d.a, stepMs, rangeMs), evalDuration(d.b, stepMs, rangeMs));
    case "max": return Math.max(evalDuration(d.a, stepMs, rangeMs), evalDuration(d.b, stepMs, rangeMs));
    case "bin": {
      const l = evalDuration(d.l, stepMs, rangeMs);
      const r = evalDuration(d.r, stepMs, rangeMs);
      switch (d.op) {
        case "+": return l + r;
        case "-": return l - r;
        case "*": return l * r;
        case "/": return l / r;
        case "%": return l % r;
        case "^": return l ** r;
      }
    }
  }
}

/** Seconds → whole milliseconds. */
export function toMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

function literalSeconds(t: string, from: number, to: number, fail: Fail): number {
  if (/^(\d+(ms|s|m|h|d|w|y))+$/.test(t)) {
    try {
      return parseDuration(t) / 1000;
    } catch (e) {
      if (e instanceof DurationError) throw fail(e.message, from, to);
      throw e;
    }
  }
  const lower = t.toLowerCase();
  let v: number;
  if (/^0x[0-9a-f]+$/.test(lower)) v = parseInt(lower.slice(2), 16);
  else v = Number(lower.replace(/_/g, ""));
  if (!Number.isFinite(v)) throw fail(`bad number or duration syntax: ${JSON.stringify(t)}`, from, to);
  return v;
}
