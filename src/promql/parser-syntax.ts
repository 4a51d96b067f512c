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
import type { Tok } from "./parser-lexer.ts";
import { checkDurationToken, checkNumberLiteral } from "./parser-syntax-literals.ts";
import { ModifierSyntax, type OperandKind as Kind } from "./parser-syntax-modifiers.ts";
import type { SyntaxFail } from "./parser-token-cursor.ts";

export { describeToken, type SyntaxFail } from "./parser-token-cursor.ts";

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

/** Expressions: binary chains, unary signs, operands, calls, aggregations, matchers. */
class SyntaxChecker extends ModifierSyntax {
  /** End offset of the last call body's ")". */
  private lastClose = 0;
  /** Offsets of `offset` tokens that name a metric. */
  readonly offsetNames: number[] = [];

  constructor(
    q: string,
    private readonly opts: SyntaxOptions,
    fail: SyntaxFail,
  ) {
    super(q, fail);
  }

  run(): void {
    if (this.peek().kind === "EOF") throw this.fail("no expression found in input", 0, 0);
    this.expr();
    if (this.peek().kind !== "EOF") throw this.unexpected();
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
        checkNumberLiteral(t, this.fail);
        this.take();
        return "other";
      case "STRING":
        this.take();
        return "other";
      case "DURATION":
        this.take();
        checkDurationToken(t, this.fail);
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
}
