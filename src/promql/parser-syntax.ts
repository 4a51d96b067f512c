/**
 * Syntax check of a PromQL query over Prometheus-compatible tokens (`parser-lexer.ts`), run
 * before the lezer-based conversion so that the first error of an invalid query reads like
 * Prometheus' own: lexer errors (`unclosed left parenthesis`, `bad number or duration syntax`,
 * ...), yacc-style `unexpected <token> in <context>, expected <what>` messages with the context
 * of the innermost construct Prometheus' grammar has an error rule for, and the errors its
 * grammar actions raise while parsing (unknown function, trailing comma, non-positive duration,
 * range on a non-selector). Valid queries pass through untouched; the lezer path builds the AST.
 */
import { getFunction } from "./function-table.ts";
import { PromLexer, type Tok } from "./parser-lexer.ts";

/** Raised with Prometheus' message and the 0-based start/end offsets of its position range. */
export type SyntaxFail = (msg: string, start: number, end: number) => Error;

/** Options that change which inputs are valid. */
export interface SyntaxOptions {
  readonly experimentalFunctions?: boolean;
}

const BINARY_OPS = new Set([
  "+", "-", "*", "/", "%", "^", "==", "!=", "<=", "<", ">=", ">", "</", ">/", "and", "or", "unless", "atan2",
]);
/** Keyword tokens Prometheus' grammar accepts as a metric name. */
const METRIC_KEYWORDS = new Set(["by", "without", "offset", "fill", "fill_left", "fill_right", "anchored", "smoothed"]);
/** Keyword tokens accepted as a label name in grouping clauses. */
const LABEL_KEYWORDS = new Set([...METRIC_KEYWORDS, "bool", "group_left", "group_right", "ignoring", "on"]);
const PARAM_AGGREGATORS = new Set(["topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio"]);
const DURATION_UNITS = ["y", "w", "d", "h", "m", "s", "ms"];

/** How a token is named in Prometheus' "unexpected ..." messages (lex.go's Item.desc). */
export function describeToken(t: Tok): string {
  switch (t.kind) {
    case "EOF": return "end of input";
    case "op": return `<op:${t.val}>`;
    case "aggr": return `<aggr:${t.val}>`;
    case "keyword": return `<${t.val}>`;
    case "IDENTIFIER": return `identifier ${JSON.stringify(t.val)}`;
    case "METRIC_IDENTIFIER": return `metric identifier ${JSON.stringify(t.val)}`;
    case "STRING": return `string ${goQuoteShort(t.val)}`;
    case "NUMBER": return `number ${goQuoteShort(t.val)}`;
    case "DURATION": return `duration ${goQuoteShort(t.val)}`;
    default: return goQuoteShort(t.val);
  }
}

/** Go's `%q`, or `%.10q...` for values longer than 10 characters (Item.String). */
function goQuoteShort(v: string): string {
  return v.length > 10 ? `${JSON.stringify(v.slice(0, 10))}...` : JSON.stringify(v);
}

/**
 * Checks `query`; throws `fail(...)` with Prometheus' first error. Otherwise returns the offsets
 * of `offset` keywords used as metric names (valid in Prometheus, a syntax error for lezer), so
 * the caller can mask them before running lezer.
 */
export function checkSyntax(query: string, opts: SyntaxOptions, fail: SyntaxFail): number[] {
  const c = new SyntaxChecker(query, opts, fail);
  c.run();
  return c.offsetNames;
}

/** What a parsed operand is, as far as range/offset/@ errors care. */
type Kind = "selector" | "selector-offset" | "selector-at" | "other";

class SyntaxChecker {
  private readonly lexer: PromLexer;
  private look: Tok | null = null;
  /** Contexts of enclosing constructs whose grammar rule has an error alternative, innermost last. */
  private readonly contexts: string[] = [];
  /** End offset of the last call body's ")". */
  private lastClose = 0;
  /** Offsets of `offset` tokens that name a metric. */
  readonly offsetNames: number[] = [];

  constructor(
    private readonly q: string,
    private readonly opts: SyntaxOptions,
    private readonly fail: SyntaxFail,
  ) {
    this.lexer = new PromLexer(q);
  }

  run(): void {
    if (this.peek().kind === "EOF") throw this.fail("no expression found in input", 0, 0);
    this.expr();
    if (this.peek().kind !== "EOF") throw this.unexpected();
  }

  /** The next token; a lexer error is reported as soon as the parser reaches it. */
  private peek(): Tok {
    if (!this.look) {
      this.look = this.lexer.next();
      if (this.look.kind === "ERROR") throw this.fail(this.look.val, this.look.pos, this.q.length);
    }
    return this.look;
  }

  private take(): Tok {
    const t = this.peek();
    this.look = null;
    return t;
  }

  private is(kind: Tok["kind"], val?: string): boolean {
    const t = this.peek();
    return t.kind === kind && (val === undefined || t.val.toLowerCase() === val);
  }

  /** `unexpected <token>[ in <context>][, expected <what>]` for the next token. */
  private unexpected(context?: string, expected?: string): Error {
    const t = this.peek();
    const ctx = context ?? this.contexts[this.contexts.length - 1];
    let msg = `unexpected ${describeToken(t)}`;
    if (ctx) msg += ` in ${ctx}`;
    if (expected) msg += `, expected ${expected}`;
    return this.fail(msg, t.pos, t.pos + t.val.length);
  }

  private expr(): Kind {
    let kind = this.unary();
    for (;;) {
      const t = this.peek();
      if (!(t.kind === "op" && BINARY_OPS.has(t.val.toLowerCase()))) return kind;
      this.take();
      this.binModifiers();
      this.unary();
      kind = "other";
    }
  }

  private binModifiers(): void {
    if (this.is("keyword", "bool")) this.take();
    if (this.is("keyword", "on") || this.is("keyword", "ignoring")) {
      this.take();
      this.groupingLabels();
      if (this.is("keyword", "group_left") || this.is("keyword", "group_right")) {
        this.take();
        // The optional label list: anything that cannot start the right operand is reported as a
        // bad grouping clause, as Prometheus' grammar does.
        if (this.is("(") || !this.startsExpr()) this.groupingLabels();
      }
    }
    for (let i = 0; i < 2 && this.is("keyword") && this.peek().val.toLowerCase().startsWith("fill"); i++) {
      this.take();
      if (!this.is("(")) throw this.unexpected();
      this.take();
      if (this.is("op", "-") || this.is("op", "+")) this.take();
      if (!this.is("NUMBER") && !this.is("DURATION")) throw this.unexpected();
      this.take();
      if (!this.is(")")) throw this.unexpected();
      this.take();
    }
  }

  private unary(): Kind {
    if (this.is("op", "+") || this.is("op", "-")) {
      this.take();
      this.unary();
      return "other";
    }
    return this.postfix(this.primary());
  }

  private postfix(kind: Kind): Kind {
    for (;;) {
      const t = this.peek();
      if (t.kind === "[") kind = this.bracket(kind);
      else if (t.kind === "keyword" && t.val.toLowerCase() === "offset") {
        this.take();
        this.offset();
        if (kind === "selector") kind = "selector-offset";
      } else if (t.kind === "op" && t.val === "@") {
        this.take();
        this.at();
        if (kind === "selector") kind = "selector-at";
      } else if (t.kind === "keyword" && (t.val.toLowerCase() === "anchored" || t.val.toLowerCase() === "smoothed")) {
        this.take();
      } else return kind;
    }
  }

  private primary(): Kind {
    const t = this.peek();
    switch (t.kind) {
      case "NUMBER":
        this.checkNumber(t);
        this.take();
        return "other";
      case "STRING":
        this.take();
        return "other";
      case "DURATION":
        this.take();
        this.checkDuration(t);
        return "other";
      case "(": {
        this.take();
        this.expr();
        if (!this.is(")")) throw this.unexpected();
        this.take();
        return "other";
      }
      case "{":
        this.labelMatchers();
        return "selector";
      case "IDENTIFIER":
        this.take();
        if (this.is("(")) return this.call(t);
        if (this.is("{")) this.labelMatchers();
        return "selector";
      case "METRIC_IDENTIFIER":
        this.take();
        if (this.is("{")) this.labelMatchers();
        return "selector";
      case "aggr":
        return this.aggregation();
      case "preproc": {
        this.take();
        const w = t.val.toLowerCase();
        if (this.is("(")) return this.call(t);
        if (this.is("{")) this.labelMatchers();
        return "selector";
      }
      case "op":
      case "keyword": {
        const w = t.val.toLowerCase();
        if ((t.kind === "op" && (w === "and" || w === "or" || w === "unless")) || (t.kind === "keyword" && METRIC_KEYWORDS.has(w))) {
          this.take();
          if (w === "offset") this.offsetNames.push(t.pos);
          if (this.is("{")) this.labelMatchers();
          return "selector";
        }
        throw this.unexpected();
      }
      default:
        throw this.unexpected();
    }
  }

  /** A function call; Prometheus reports unknown functions once the call has been parsed. */
  private call(name: Tok): Kind {
    this.callBody();
    const f = getFunction(name.val);
    if (!f) throw this.fail(`unknown function with name ${JSON.stringify(name.val)}`, name.pos, name.pos + name.val.length);
    if (f.experimental && !this.opts.experimentalFunctions) {
      throw this.fail(`function ${JSON.stringify(name.val)} is not enabled`, name.pos, name.pos + name.val.length);
    }
    return "other";
  }

  /** `( args )`; returns the number of arguments. */
  private callBody(): number {
    this.take(); // "("
    if (this.is(")")) {
      this.lastClose = this.take().pos + 1;
      return 0;
    }
    for (let n = 1; ; n++) {
      this.expr();
      if (this.is(")")) {
        this.lastClose = this.take().pos + 1;
        return n;
      }
      if (!this.is(",")) throw this.unexpected();
      const comma = this.take();
      // Prometheus' grammar reduces `args ","` as a trailing comma when no argument follows.
      if (this.is(")") || this.is(",")) throw this.fail("trailing commas not allowed in function call args", comma.pos, comma.pos + 1);
    }
  }

  private aggregation(): Kind {
    const op = this.take();
    const hasModifier = (): boolean => this.is("keyword", "by") || this.is("keyword", "without");
    if (!this.is("(") && !hasModifier()) {
      // Not followed by a body or a modifier: the aggregator's name is a metric name.
      if (this.is("{")) this.labelMatchers();
      return "selector";
    }
    this.contexts.push("aggregation");
    let args: number;
    if (hasModifier()) {
      this.take();
      this.groupingLabels();
      if (!this.is("(")) throw this.unexpected();
      args = this.callBody();
      this.contexts.pop();
    } else {
      args = this.callBody();
      this.contexts.pop();
      if (hasModifier()) {
        this.take();
        this.groupingLabels();
      }
    }
    // Prometheus checks the argument count when it builds the aggregation, before later syntax.
    const end = this.lastClose;
    if (args === 0) throw this.fail("no arguments for aggregate expression provided", op.pos, end);
    const want = PARAM_AGGREGATORS.has(op.val.toLowerCase()) ? 2 : 1;
    if (args !== want) {
      throw this.fail(`wrong number of arguments for aggregate expression provided, expected ${want}, got ${args}`, op.pos, end);
    }
    return "other";
  }

  /** `(label, ...)` of by/without/on/ignoring/group_x. */
  private groupingLabels(): void {
    if (!this.is("(")) throw this.unexpected("grouping opts", '"("');
    this.take();
    if (this.is(")")) {
      this.take();
      return;
    }
    for (;;) {
      const t = this.peek();
      const w = t.val.toLowerCase();
      const isLabel = t.kind === "IDENTIFIER" || t.kind === "METRIC_IDENTIFIER" || t.kind === "aggr" || t.kind === "preproc" ||
        t.kind === "STRING" || (t.kind === "keyword" && LABEL_KEYWORDS.has(w)) ||
        (t.kind === "op" && (w === "and" || w === "or" || w === "unless" || w === "atan2"));
      if (!isLabel) throw this.unexpected("grouping opts", "label");
      this.take();
      if (this.is(")")) {
        this.take();
        return;
      }
      if (!this.is(",")) throw this.unexpected("grouping opts", '"," or ")"');
      this.take();
      if (this.is(")")) {
        this.take();
        return;
      }
    }
  }

  private labelMatchers(): void {
    this.take(); // "{"
    const isMatchOp = (): boolean => this.is("=") || (this.is("op") && ["!=", "=~", "!~"].includes(this.peek().val));
    for (;;) {
      if (this.is("}")) {
        this.take();
        return;
      }
      if (this.is("IDENTIFIER")) {
        this.take();
        if (!isMatchOp()) throw this.unexpected("label matching", "label matching operator");
        this.take();
        if (!this.is("STRING")) throw this.unexpected("label matching", "string");
        this.take();
      } else if (this.is("STRING")) {
        this.take();
        if (isMatchOp()) {
          this.take();
          if (!this.is("STRING")) throw this.unexpected("label matching", "string");
          this.take();
        }
      } else {
        throw this.unexpected("label matching", 'identifier or "}"');
      }
      if (this.is("}")) {
        this.take();
        return;
      }
      if (!this.is(",")) throw this.unexpected("label matching", '"," or "}"');
      this.take();
    }
  }

  /** Whether the next token can begin an expression. */
  private startsExpr(): boolean {
    const t = this.peek();
    const w = t.val.toLowerCase();
    switch (t.kind) {
      case "NUMBER": case "DURATION": case "STRING": case "(": case "{": case "IDENTIFIER":
      case "METRIC_IDENTIFIER": case "aggr": case "preproc":
        return true;
      case "op":
        return w === "+" || w === "-" || w === "and" || w === "or" || w === "unless";
      case "keyword":
        return METRIC_KEYWORDS.has(w);
      default:
        return false;
    }
  }

  private startsDuration(): boolean {
    const t = this.peek();
    return t.kind === "NUMBER" || t.kind === "DURATION" || t.kind === "(" || t.kind === "preproc" ||
      (t.kind === "op" && (t.val === "+" || t.val === "-"));
  }

  /**
   * A duration expression inside brackets (literals, step()/range()/min_of()/max_of(), + - * / % ^
   * and parentheses); its finer rules are left to the lezer path. `complete` is false when it
   * stopped where an operand was still due, which Prometheus reports in the bracket's context.
   */
  private durationTokens(single = false): { toks: Tok[]; complete: boolean } {
    const toks: Tok[] = [];
    let depth = 0;
    let wantOperand = true;
    for (;;) {
      const t = this.peek();
      // An offset takes one operand: a parenthesised expression or a duration function call.
      if (single && toks.length > 0 && depth === 0 && !wantOperand) return { toks, complete: true };
      if (t.kind === "(" && wantOperand) depth++;
      else if (t.kind === ")" && !wantOperand && depth > 0) depth--;
      else if ((t.kind === "NUMBER" || t.kind === "DURATION") && wantOperand) wantOperand = false;
      else if (t.kind === "preproc" && wantOperand) {
        toks.push(this.take());
        if (!this.is("(")) return { toks, complete: false };
        const w = t.val.toLowerCase();
        if (w === "step" || w === "range") {
          // step() and range() take no arguments.
          toks.push(this.take());
          if (!this.is(")")) return { toks, complete: false };
          toks.push(this.take());
          wantOperand = false;
        }
        continue;
      } else if (t.kind === "op" && (t.val === "+" || t.val === "-")) wantOperand = true;
      else if (t.kind === "op" && "*/%^".includes(t.val) && !wantOperand) wantOperand = true;
      else if (t.kind === "," && depth > 0 && !wantOperand) wantOperand = true;
      else return { toks, complete: !wantOperand && depth === 0 };
      this.checkDurationLiteral(t, toks[toks.length - 1]);
      toks.push(this.take());
    }
  }

  /** Literal checks Prometheus' grammar actions do inside durations (brackets, offsets). */
  private checkDurationLiteral(t: Tok, prev: Tok | undefined, sign?: Tok): void {
    if (t.kind === "DURATION") this.checkDuration(t);
    if (t.kind !== "NUMBER" && t.kind !== "DURATION") return;
    this.checkNumber(t);
    const v = literalSeconds(t);
    if (t.kind === "NUMBER" && Math.abs(v) * 1e9 > 9.223372036854775807e18) {
      // A signed offset reports the sign's position.
      const at = sign ?? t;
      throw this.fail("duration out of range", at.pos, at.pos + at.val.length);
    }
    if (prev?.kind === "op" && (prev.val === "/" || prev.val === "%") && v === 0) {
      throw this.fail(prev.val === "/" ? "division by zero" : "modulo by zero", prev.pos, prev.pos + 1);
    }
  }

  /** Number literals Go cannot represent as a float64. */
  private checkNumber(t: Tok): void {
    if (t.kind !== "NUMBER" || /^[+-]?(inf|nan)$/i.test(t.val)) return;
    const v = Number(t.val.replace(/_/g, ""));
    if (!Number.isFinite(v)) {
      const why = Number.isNaN(v) ? "invalid syntax" : "value out of range";
      throw this.fail(
        `error parsing number: strconv.ParseFloat: parsing ${JSON.stringify(t.val)}: ${why}`,
        t.pos, t.pos + t.val.length,
      );
    }
  }

  /** Prometheus rejects non-positive literal ranges and steps while parsing. */
  private checkPositive(toks: Tok[]): void {
    const lit = toks[toks.length - 1];
    const signed = toks.length === 2 && toks[0]!.kind === "op" && (toks[0]!.val === "-" || toks[0]!.val === "+");
    if (!lit || !(toks.length === 1 || signed) || (lit.kind !== "NUMBER" && lit.kind !== "DURATION")) return;
    const v = literalSeconds(lit);
    if (Number.isNaN(v)) return;
    const value = signed && toks[0]!.val === "-" ? -v : v;
    if (value <= 0) throw this.fail("duration must be greater than 0", toks[0]!.pos, lit.pos + lit.val.length);
  }

  private bracket(kind: Kind): Kind {
    const open = this.take();
    const rangeCtx = "subquery or range selector";
    const rangeWant = "number, duration, step(), or range()";
    if (!this.startsDuration()) throw this.unexpected(rangeCtx, rangeWant);
    const range = this.durationTokens();
    if (!range.complete) throw this.unexpected(rangeCtx, rangeWant);
    this.checkPositive(range.toks);
    if (this.is("]")) {
      const close = this.take();
      let msg = "";
      if (kind === "other") msg = "ranges only allowed for vector selectors";
      else if (kind === "selector-offset") msg = "no offset modifiers allowed before range";
      else if (kind === "selector-at") msg = "no @ modifiers allowed before range";
      if (msg) throw this.fail(msg, open.pos, close.pos + 1);
      return "other";
    }
    if (!this.is(":")) throw this.unexpected("subquery or range", '":" or "]"');
    this.take();
    if (this.is("]")) {
      this.take();
      return "other";
    }
    const stepWant = 'number, duration, step(), range(), or "]"';
    if (!this.startsDuration()) throw this.unexpected("subquery selector", stepWant);
    const step = this.durationTokens();
    if (!step.complete) throw this.unexpected("subquery selector", stepWant);
    this.checkPositive(step.toks);
    if (!this.is("]")) throw this.unexpected("subquery selector", '"]"');
    this.take();
    return "other";
  }

  private offset(): void {
    const expected = "number, duration, step(), or range()";
    if (!this.startsDuration()) throw this.unexpected("offset", expected);
    const sign = this.is("op", "+") || this.is("op", "-") ? this.take() : undefined;
    const t = this.peek();
    if (t.kind === "NUMBER" || t.kind === "DURATION") {
      this.checkDurationLiteral(t, undefined, sign);
      this.take();
      return;
    }
    if (t.kind !== "preproc" && t.kind !== "(") throw this.unexpected("offset", expected);
    if (!this.durationTokens(true).complete) throw this.unexpected("offset", expected);
  }



  private at(): void {
    const t = this.peek();
    if (t.kind === "NUMBER" || t.kind === "DURATION") {
      this.take();
      return;
    }
    if (t.kind === "op" && (t.val === "+" || t.val === "-")) {
      this.take();
      if (!this.is("NUMBER") && !this.is("DURATION")) throw this.unexpected("@", "timestamp");
      this.take();
      return;
    }
    if (t.kind === "preproc" && (t.val.toLowerCase() === "start" || t.val.toLowerCase() === "end")) {
      this.take();
      if (!this.is("(")) throw this.unexpected("@", "timestamp");
      this.take();
      if (!this.is(")")) throw this.unexpected("@", "timestamp");
      this.take();
      return;
    }
    throw this.unexpected("@", "timestamp");
  }

  /** Duration literals must have known units in decreasing order (Prometheus' parseDuration). */
  private checkDuration(t: Tok): void {
    const msg = durationLiteralError(t.val);
    if (msg) throw this.fail(msg, t.pos, t.pos + t.val.length);
  }
}

/** The error Prometheus' duration parsing gives for a DURATION token, or null if it is valid. */
function durationLiteralError(text: string): string | null {
  const parts = text.match(/[0-9]+|[a-zA-Z]+/g) ?? [];
  let last = -1;
  for (let i = 1; i < parts.length; i += 2) {
    const unit = DURATION_UNITS.indexOf(parts[i]!);
    if (unit < 0) return `unknown unit ${JSON.stringify(parts[i])} in duration ${JSON.stringify(text)}`;
    if (unit <= last) return `not a valid duration string: ${JSON.stringify(text)}`;
    last = unit;
  }
  return null;
}

/** Seconds of a NUMBER or DURATION literal (NaN if not simple). */
function literalSeconds(t: Tok): number {
  if (t.kind === "NUMBER") return Number(t.val.replace(/_/g, ""));
  let s = 0;
  const mult: Record<string, number> = { y: 31536000, w: 604800, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
  for (const m of t.val.matchAll(/([0-9]+)([a-z]+)/g)) s += Number(m[1]) * (mult[m[2]!] ?? NaN);
  return s;
}
