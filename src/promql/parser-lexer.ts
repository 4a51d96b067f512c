/**
 * A PromQL tokenizer that behaves like Prometheus' hand-written lexer (promql/parser/lex.go):
 * same token kinds, same modes (statements, inside braces, inside brackets) and the same error
 * texts and positions. Meridian parses with the lezer grammar; this lexer exists so that invalid
 * queries are reported exactly as Prometheus reports them (see `parser-syntax.ts`).
 */

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
const isDigit = (c: string): boolean => c >= "0" && c <= "9";
const isAlpha = (c: string): boolean => c === "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
const isAlnum = (c: string): boolean => isAlpha(c) || isDigit(c);

/** Go's `%q` of a single rune. */
export function quoteRune(c: string): string {
  if (c === "'") return "'\\''";
  if (c === "\\") return "'\\\\'";
  if (c === "\n") return "'\\n'";
  if (c === "\t") return "'\\t'";
  if (c === "\r") return "'\\r'";
  return `'${c}'`;
}

/** Go's `%#U` of a rune: `U+0063 'c'`. */
function goUnicode(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")} '${c}'`;
}

/**
 * Tokenizes `input` lazily; the last token is EOF or ERROR (an ERROR's `pos` is the lexer's
 * item start when the error was found, as in Prometheus).
 */
export class PromLexer {
  private pos = 0;
  private start = 0;
  private parenDepth = 0;
  private braceOpen = false;
  private bracketOpen = false;
  private gotColon = false;
  private gotDuration = false;
  /** Lexing inside `[...]` right after `[`, `(` or an operator (lex.go's lexDurationExpr). */
  private durationMode = false;
  private done = false;

  constructor(private readonly input: string) {}

  private peek(): string {
    return this.input[this.pos] ?? "";
  }

  private nextChar(): string {
    const c = this.input[this.pos] ?? "";
    if (c !== "") this.pos++;
    return c;
  }

  private tok(kind: TokKind): Tok {
    const t = { kind, pos: this.start, val: this.input.slice(this.start, this.pos) };
    this.start = this.pos;
    return t;
  }

  private error(msg: string): Tok {
    this.done = true;
    return { kind: "ERROR", pos: this.start, val: msg };
  }

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

  private numberOrDuration(): Tok {
    if (this.scanNumber()) return this.tok("NUMBER");
    if (this.remainingDuration()) {
      this.pos--;
      return this.tok("DURATION");
    }
    return this.error(`bad number or duration syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
  }

  private accept(chars: string): boolean {
    const c = this.peek();
    if (c !== "" && chars.includes(c)) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** After the digits of a duration: units, more digit+unit groups, and no trailing alphanumeric. */
  private remainingDuration(): boolean {
    if (!this.accept("smhdwy")) return false;
    this.accept("s");
    while (this.accept("0123456789")) {
      while (this.accept("0123456789"));
      if (!this.accept("smhdw")) return false;
      this.accept("s");
    }
    const c = this.nextChar();
    if (c === "") this.pos++; // lex.go's next() at EOF still lets backup() step back one rune.
    return !isAlnum(c);
  }

  /** lex.go's scanNumber: decimal/hex/octal with `_` separators, a dot and an exponent. */
  private scanNumber(): boolean {
    const initial = this.pos;
    let digits = "0123456789";
    if (this.accept("0") && this.accept("xX")) {
      this.accept("_");
      digits = "0123456789abcdefABCDEF";
    }
    this.accept(".");
    this.accept(digits);
    let dot = false;
    let exp = false;
    const is = (s: string): boolean => this.peek() !== "" && s.includes(this.peek());
    while (is(digits + "._eE")) {
      if (is(".") && dot) {
        this.accept(".");
        return false;
      }
      if (is("eE") && exp) {
        this.accept("eE");
        return false;
      }
      if (this.accept(".")) {
        dot = true;
        if (this.accept("_.")) return false;
        if (digits.length > 10) return false;
        continue;
      }
      if (this.accept("eE")) {
        exp = true;
        this.accept("+-");
        if (this.accept("._eE") || this.peek() === "") return false;
        continue;
      }
      if (this.accept("_")) {
        if (this.accept("._eE") || this.peek() === "") return false;
        continue;
      }
      while (this.accept(digits));
    }
    if (this.pos === initial) return false;
    return !isAlnum(this.peek());
  }

  private quotedString(open: string): Tok {
    for (;;) {
      const c = this.nextChar();
      if (c === "\\") {
        const err = this.escape(open);
        if (err) return this.error(err);
        continue;
      }
      if (c === "" || c === "\n") return this.error("unterminated quoted string");
      if (c === open) return this.tok("STRING");
    }
  }

  private escape(open: string): string | null {
    let c = this.nextChar();
    let n: number;
    let base: number;
    let max: number;
    if ("abfnrtv\\".includes(c) && c !== "" || c === open) return null;
    if (c >= "0" && c <= "7") [n, base, max] = [3, 8, 255];
    else if (c === "x") [c, n, base, max] = [this.nextChar(), 2, 16, 255];
    else if (c === "u") [c, n, base, max] = [this.nextChar(), 4, 16, 0x10ffff];
    else if (c === "U") [c, n, base, max] = [this.nextChar(), 8, 16, 0x10ffff];
    else if (c === "") return "escape sequence not terminated";
    else return `unknown escape sequence ${goUnicode(c)}`;
    let x = 0;
    while (n > 0) {
      const d = c === "" ? 16 : parseInt(c, 16);
      if (Number.isNaN(d) || d >= base) {
        if (c === "") return "escape sequence not terminated";
        return `illegal character ${goUnicode(c)} in escape sequence`;
      }
      x = x * base + d;
      n--;
      if (n > 0) c = this.nextChar();
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) return "escape sequence is an invalid Unicode code point";
    return null;
  }

  private rawString(): Tok {
    for (;;) {
      const c = this.nextChar();
      if (c === "") return this.error("unterminated raw string");
      if (c === "`") return this.tok("STRING");
    }
  }
}
