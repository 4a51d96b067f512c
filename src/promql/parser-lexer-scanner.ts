/**
 * Rune-level scanning under the PromQL lexer (`parser-lexer.ts`), as Prometheus' lex.go does it:
 * numbers (decimal, hex, octal, `_` separators, exponents), durations, quoted and raw strings
 * with Go's escape rules, and error tokens worded like lex.go's.
 */
import type { Tok, TokKind } from "./parser-lexer.ts";

/** Whether `c` is an ASCII digit. */
export const isDigit = (c: string): boolean => c >= "0" && c <= "9";
/** Whether `c` may start an identifier (lex.go's isAlpha). */
export const isAlpha = (c: string): boolean => c === "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
/** Whether `c` may continue an identifier. */
export const isAlnum = (c: string): boolean => isAlpha(c) || isDigit(c);

/** Go's `%#U` of a rune: `U+0063 'c'`. */
function goUnicode(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")} '${c}'`;
}

/** Position, token start and the scanning primitives the lexer's modes are built from. */
export class RuneScanner {
  protected pos = 0;
  protected start = 0;
  /** Set once EOF or an error was returned. */
  protected done = false;

  constructor(protected readonly input: string) {}

  /** The next character, or "" at the end. */
  protected peek(): string {
    return this.input[this.pos] ?? "";
  }

  /** Consumes and returns the next character ("" at the end, without moving). */
  protected nextChar(): string {
    const c = this.input[this.pos] ?? "";
    if (c !== "") this.pos++;
    return c;
  }

  /** Emits the text since the token start as a token of `kind`. */
  protected tok(kind: TokKind): Tok {
    const t = { kind, pos: this.start, val: this.input.slice(this.start, this.pos) };
    this.start = this.pos;
    return t;
  }

  /** An ERROR token at the token start; the lexer stops after it. */
  protected error(msg: string): Tok {
    this.done = true;
    return { kind: "ERROR", pos: this.start, val: msg };
  }

  /** A NUMBER or DURATION token starting at a digit or dot, or lex.go's error for it. */
  protected numberOrDuration(): Tok {
    if (this.scanNumber()) return this.tok("NUMBER");
    if (this.remainingDuration()) {
      this.pos--;
      return this.tok("DURATION");
    }
    return this.error(`bad number or duration syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
  }

  /** Consumes the next character if it is one of `chars`. */
  protected accept(chars: string): boolean {
    const c = this.peek();
    if (c !== "" && chars.includes(c)) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** After the digits of a duration: units, more digit+unit groups, and no trailing alphanumeric. */
  protected remainingDuration(): boolean {
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
  protected scanNumber(): boolean {
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

  /** The rest of a "..." or '...' string (the quote already consumed). */
  protected quotedString(open: string): Tok {
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

  /** One escape sequence after a backslash, checked as Go's strconv does; the error text or null. */
  protected escape(open: string): string | null {
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

  /** The rest of a `...` raw string. */
  protected rawString(): Tok {
    for (;;) {
      const c = this.nextChar();
      if (c === "") return this.error("unterminated raw string");
      if (c === "`") return this.tok("STRING");
    }
  }
}
