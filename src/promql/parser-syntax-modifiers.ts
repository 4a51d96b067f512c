/**
 * The postfix part of Meridian's PromQL syntax check: range and subquery brackets, `offset` and
 * `@`, with the duration expressions inside them, reported with the contexts and expectations of
 * Prometheus' grammar (`in subquery or range selector, expected number, duration, step(), or
 * range()`, ...). Expressions themselves are checked by `parser-syntax.ts`, which builds on this.
 */
import type { Tok } from "./parser-lexer.ts";
import { checkDurationLiteral, checkPositiveDuration } from "./parser-syntax-literals.ts";
import { TokenCursor } from "./parser-token-cursor.ts";

/** What a parsed operand is, as far as range/offset/@ errors care. */
export type OperandKind = "selector" | "selector-offset" | "selector-at" | "other";

/** Bracket, offset and @ checks over a {@link TokenCursor}. */
export class ModifierSyntax extends TokenCursor {
  /** Whether the next token can begin a duration (range, step or offset). */
  protected startsDuration(): boolean {
    const t = this.peek();
    return t.kind === "NUMBER" || t.kind === "DURATION" || t.kind === "(" || t.kind === "preproc" ||
      (t.kind === "op" && (t.val === "+" || t.val === "-"));
  }

  /**
   * A duration expression inside brackets (literals, step()/range()/min_of()/max_of(), + - * / % ^
   * and parentheses); its finer rules are left to the lezer path. `complete` is false when it
   * stopped where an operand was still due, which Prometheus reports in the bracket's context.
   */
  protected durationTokens(single = false): { toks: Tok[]; complete: boolean } {
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
      checkDurationLiteral(t, toks[toks.length - 1], this.fail);
      toks.push(this.take());
    }
  }

  /** `[range]` or `[range:step]` after an operand of `kind`; returns the kind of the result. */
  protected bracket(kind: OperandKind): OperandKind {
    const open = this.take();
    const rangeCtx = "subquery or range selector";
    const rangeWant = "number, duration, step(), or range()";
    if (!this.startsDuration()) throw this.unexpected(rangeCtx, rangeWant);
    const range = this.durationTokens();
    if (!range.complete) throw this.unexpected(rangeCtx, rangeWant);
    checkPositiveDuration(range.toks, this.fail);
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
    checkPositiveDuration(step.toks, this.fail);
    if (!this.is("]")) throw this.unexpected("subquery selector", '"]"');
    this.take();
    return "other";
  }

  /** The duration after an `offset` keyword (already taken). */
  protected offset(): void {
    const expected = "number, duration, step(), or range()";
    if (!this.startsDuration()) throw this.unexpected("offset", expected);
    const sign = this.is("op", "+") || this.is("op", "-") ? this.take() : undefined;
    const t = this.peek();
    if (t.kind === "NUMBER" || t.kind === "DURATION") {
      checkDurationLiteral(t, undefined, this.fail, sign);
      this.take();
      return;
    }
    if (t.kind !== "preproc" && t.kind !== "(") throw this.unexpected("offset", expected);
    if (!this.durationTokens(true).complete) throw this.unexpected("offset", expected);
  }

  /** The timestamp after `@` (already taken): a number, a signed number, `start()` or `end()`. */
  protected at(): void {
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
}
