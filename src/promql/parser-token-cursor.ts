/**
 * The token stream under Meridian's PromQL syntax check: one token of lookahead over
 * `parser-lexer.ts`, lexer errors raised when the parser reaches them (as Prometheus' parser
 * does), and yacc-style `unexpected <token> in <context>, expected <what>` errors worded like
 * Prometheus' `lex.go`/`generated_parser.y`.
 */
import { PromLexer, type Tok } from "./parser-lexer.ts";

/** Raised with Prometheus' message and the 0-based start/end offsets of its position range. */
export type SyntaxFail = (msg: string, start: number, end: number) => Error;

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
 * Lookahead and error wording shared by the recursive-descent checks built on it
 * (`parser-syntax-modifiers.ts`, `parser-syntax.ts`).
 */
export class TokenCursor {
  private readonly lexer: PromLexer;
  private look: Tok | null = null;
  /** Contexts of enclosing constructs whose grammar rule has an error alternative, innermost last. */
  protected readonly contexts: string[] = [];

  constructor(
    protected readonly q: string,
    protected readonly fail: SyntaxFail,
  ) {
    this.lexer = new PromLexer(q);
  }

  /** The next token; a lexer error is reported as soon as the parser reaches it. */
  protected peek(): Tok {
    if (!this.look) {
      this.look = this.lexer.next();
      if (this.look.kind === "ERROR") throw this.fail(this.look.val, this.look.pos, this.q.length);
    }
    return this.look;
  }

  /** Consumes and returns the next token. */
  protected take(): Tok {
    const t = this.peek();
    this.look = null;
    return t;
  }

  /** Whether the next token has `kind` (and, if given, the lower-cased value `val`). */
  protected is(kind: Tok["kind"], val?: string): boolean {
    const t = this.peek();
    return t.kind === kind && (val === undefined || t.val.toLowerCase() === val);
  }

  /** `unexpected <token>[ in <context>][, expected <what>]` for the next token. */
  protected unexpected(context?: string, expected?: string): Error {
    const t = this.peek();
    const ctx = context ?? this.contexts[this.contexts.length - 1];
    let msg = `unexpected ${describeToken(t)}`;
    if (ctx) msg += ` in ${ctx}`;
    if (expected) msg += `, expected ${expected}`;
    return this.fail(msg, t.pos, t.pos + t.val.length);
  }
}
