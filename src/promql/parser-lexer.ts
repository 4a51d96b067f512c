/**
 * A PromQL tokenizer that behaves like Prometheus' hand-written lexer (promql/parser/lex.go):
 * same token kinds, same modes (statements, inside braces, inside brackets) and the same error
 * texts and positions. Meridian parses with the lezer grammar; this lexer exists so that invalid
 * queries are reported exactly as Prometheus reports them (see `parser-syntax.ts`).
 */

import { isAlnum, isAlpha, isDigit, RuneScanner } from "./parser-lexer-scanner.ts";

/** Token kinds; the names follow Prometheus' item types. */
export type TokKind =
  | "EOF" | "ERROR" | "IDENTIFIER" | "METRIC_IDENTIFIER" | "STRING" | "NUMBER" | "DURATION"
  | "(" | ")" | "{" | "}" | "[" | "]" | "," | "=" | ":"
  | "op" | "aggr" | "keyword" | "preproc";

/** One token; `val` is the source text (for ERROR: the message). */
export interface Tok {
  readonly kind: TokKind;
  readonly pos: number;
  readonly val: string;
}

const OPERATOR_WORDS = new Set(["and", "or", "unless", "atan2"]);
const AGGREGATORS = new Set([
  "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
  "count_values", "quantile", "limitk", "limit_ratio",
]);
const KEYWORDS = new Set([
  "offset", "smoothed", "anchored", "by", "without", "on", "ignoring", "group_left", "group_right",
  "fill", "fill_left", "fill_right", "bool",
]);
const PREPROCESSORS = new Set(["start", "end", "step", "range", "max_of", "min_of"]);
const DURATION_KEYWORDS = new Set(["step", "range", "max_of", "min_of"]);

const isSpace = (c: string): boolean => c === " " || c === "\t" || c === "\n" || c === "\r";

/** Go's `%q` of a single rune. */
export function quoteRune(c: string): string {
  if (c === "'") return "'\\''";
  if (c === "\\") return "'\\\\'";
  if (c === "\n") return "'\\n'";
  if (c === "\t") return "'\\t'";
  if (c === "\r") return "'\\r'";
  return `'${c}'`;
}

/**
 * Tokenizes `input` lazily; the last token is EOF or ERROR (an ERROR's `pos` is the lexer's
 * item start when the error was found, as in Prometheus).
 */
export class PromLexer extends RuneScanner {
  private parenDepth = 0;
  private braceOpen = false;
  private bracketOpen = false;
  private gotColon = false;
  private gotDuration = false;
  /** Lexing inside `[...]` right after `[`, `(` or an operator (lex.go's lexDurationExpr). */
  private durationMode = false;

  /** The next token; after EOF or ERROR it keeps returning that kind. */
  next(): Tok {
    if (this.done) return { kind: "EOF", pos: this.input.length, val: "" };
    for (;;) {
      const t = this.braceOpen ? this.insideBraces() : this.durationMode ? this.durationExpr() : this.statements();
      if (t) {
        if (t.kind === "EOF" || t.kind === "ERROR") this.done = true;
        return t;
      }
    }
  }

  private skipComment(): boolean {
    if (this.peek() !== "#") return false;
    while (this.pos < this.input.length && this.input[this.pos] !== "\n" && this.input[this.pos] !== "\r") this.pos++;
    this.start = this.pos;
    return true;
  }

  private statements(): Tok | null {
    if (this.skipComment()) return null;
    const c = this.nextChar();
    switch (c) {
      case "":
        if (this.parenDepth !== 0) return this.error("unclosed left parenthesis");
        if (this.bracketOpen) return this.error("unclosed left bracket");
        return this.tok("EOF");
      case ",": return this.tok(",");
      case "*": case "/": case "%": case "+": case "-": case "^": case "@":
        return this.tok("op");
      case "=": {
        const t = this.peek();
        if (t === "=") {
          this.pos++;
          return this.tok("op");
        }
        if (t === "~") return this.error(`unexpected character after '=': ${quoteRune(t)}`);
        return this.tok("=");
      }
      case "!": {
        const t = this.nextChar();
        if (t !== "=") return this.error(`unexpected character after '!': ${t === "" ? "'\uFFFD'" : quoteRune(t)}`);
        return this.tok("op");
      }
      case "<": case ">":
        if (this.peek() === "=" || this.peek() === "/") this.pos++;
        return this.tok("op");
      case "(":
        this.parenDepth++;
        return this.tok("(");
      case ")": {
        const t = this.tok(")");
        if (--this.parenDepth < 0) return this.error(`unexpected right parenthesis ${quoteRune(c)}`);
        return t;
      }
      case "{":
        this.braceOpen = true;
        return this.tok("{");
      case "[": {
        if (this.bracketOpen) return this.error(`unexpected left bracket ${quoteRune(c)}`);
        this.gotColon = false;
        const t = this.tok("[");
        while (isSpace(this.peek())) this.pos++;
        this.start = this.pos;
        this.bracketOpen = true;
        this.durationMode = true;
        return t;
      }
      case "]":
        if (!this.bracketOpen) return this.error(`unexpected right bracket ${quoteRune(c)}`);
        this.bracketOpen = false;
        return this.tok("]");
      case '"': case "'":
        return this.quotedString(c);
      case "`":
        return this.rawString();
    }
    if (isSpace(c)) {
      while (isSpace(this.peek())) this.pos++;
      this.start = this.pos;
      return null;
    }
    if (isDigit(c) || (c === "." && isDigit(this.peek()))) {
      this.pos--;
      return this.numberOrDuration();
    }
    if (isAlpha(c) || c === ":") {
      if (!this.bracketOpen) {
        this.pos--;
        return this.keywordOrIdentifier();
      }
      if (c === ":") {
        if (this.gotColon) return this.error(`unexpected colon ${quoteRune(c)}`);
        this.gotColon = true;
        return this.tok(":");
      }
      if (/[srmSRM]/.test(c)) {
        const kw = this.durationKeyword();
        if (kw) return kw;
      }
      return this.error(`unexpected character: ${quoteRune(c)}, expected ':'`);
    }
    return this.error(`unexpected character: ${quoteRune(c)}`);
  }

  /** lex.go's lexDurationExpr: the start of a bracket and the operands of duration arithmetic. */
  private durationExpr(): Tok | null {
    const c = this.nextChar();
    switch (c) {
      case "":
        return this.error("unexpected end of input in duration expression");
      case "]":
        this.bracketOpen = false;
        this.gotColon = false;
        this.durationMode = false;
        return this.tok("]");
      case ":": {
        const t = this.tok(":");
        if (!this.gotDuration) return this.error("unexpected colon before duration in duration expression");
        if (this.gotColon) return this.error("unexpected repeated colon in duration expression");
        this.gotColon = true;
        return t;
      }
      case "(":
        this.parenDepth++;
        return this.tok("(");
      case ")": {
        const t = this.tok(")");
        if (--this.parenDepth < 0) return this.error(`unexpected right parenthesis ${quoteRune(c)}`);
        return t;
      }
      case "+": case "-": case "*": case "/": case "%": case "^":
        return this.tok("op");
      case ",":
        return this.tok(",");
    }
    if (isSpace(c)) {
      while (isSpace(this.peek())) this.pos++;
      this.start = this.pos;
      return null;
    }
    if (/[srmSRM]/.test(c)) {
      const kw = this.durationKeyword();
      if (kw) return kw;
      return this.error(`unexpected character in duration expression: ${quoteRune(c)}`);
    }
    if (isDigit(c) || (c === "." && isDigit(this.peek()))) {
      this.pos--;
      this.gotDuration = true;
      this.durationMode = false;
      return this.numberOrDuration();
    }
    return this.error(`unexpected character in duration expression: ${quoteRune(c)}`);
  }

  private durationKeyword(): Tok | null {
    while (isAlpha(this.peek())) this.pos++;
    const word = this.input.slice(this.start, this.pos).toLowerCase();
    if (DURATION_KEYWORDS.has(word)) return this.tok("preproc");
    return null;
  }

  private insideBraces(): Tok | null {
    if (this.skipComment()) return null;
    const c = this.nextChar();
    switch (c) {
      case "": return this.error("unexpected end of input inside braces");
      case ",": return this.tok(",");
      case '"': case "'": return this.quotedString(c);
      case "`": return this.rawString();
      case "=":
        if (this.peek() === "~") this.pos++;
        return this.tok(this.input[this.pos - 1] === "~" ? "op" : "=");
      case "!": {
        const n = this.nextChar();
        if (n === "~" || n === "=") return this.tok("op");
        return this.error(`unexpected character after '!' inside braces: ${n === "" ? "'\uFFFD'" : quoteRune(n)}`);
      }
      case "{": return this.error(`unexpected left brace ${quoteRune(c)}`);
      case "}":
        this.braceOpen = false;
        return this.tok("}");
    }
    if (isSpace(c)) {
      while (isSpace(this.peek())) this.pos++;
      this.start = this.pos;
      return null;
    }
    if (isAlpha(c)) {
      while (isAlnum(this.peek())) this.pos++;
      return this.tok("IDENTIFIER");
    }
    return this.error(`unexpected character inside braces: ${quoteRune(c)}`);
  }

  private keywordOrIdentifier(): Tok {
    while (isAlnum(this.peek()) || this.peek() === ":") this.pos++;
    const word = this.input.slice(this.start, this.pos);
    const lower = word.toLowerCase();
    if (lower === "inf" || lower === "nan") return this.tok("NUMBER");
    if (lower === "fill" || lower === "fill_left" || lower === "fill_right") {
      if (!/^\s*\(/.test(this.input.slice(this.pos))) return this.tok("IDENTIFIER");
      return this.tok("keyword");
    }
    if (OPERATOR_WORDS.has(lower)) return this.tok("op");
    if (AGGREGATORS.has(lower)) return this.tok("aggr");
    if (KEYWORDS.has(lower)) return this.tok("keyword");
    if (PREPROCESSORS.has(lower)) return this.tok("preproc");
    return this.tok(word.includes(":") ? "METRIC_IDENTIFIER" : "IDENTIFIER");
  }


}
