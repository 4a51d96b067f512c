/**
 * Checks on number and duration literals that Prometheus' grammar actions make while parsing
 * (so they come before later syntax errors): floats Go cannot parse, unknown or out-of-order
 * duration units, durations beyond int64 nanoseconds, division by a zero literal inside a
 * duration expression, non-positive ranges and steps.
 */
import type { Tok } from "./parser-lexer.ts";
import type { SyntaxFail } from "./parser-token-cursor.ts";

const DURATION_UNITS = ["y", "w", "d", "h", "m", "s", "ms"];
const UNIT_SECONDS: Record<string, number> = { y: 31536000, w: 604800, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** Number literals Go cannot represent as a float64 (`strconv.ParseFloat` errors). */
export function checkNumberLiteral(t: Tok, fail: SyntaxFail): void {
  if (t.kind !== "NUMBER" || /^[+-]?(inf|nan)$/i.test(t.val)) return;
  const v = Number(t.val.replace(/_/g, ""));
  if (!Number.isFinite(v)) {
    const why = Number.isNaN(v) ? "invalid syntax" : "value out of range";
    throw fail(`error parsing number: strconv.ParseFloat: parsing ${JSON.stringify(t.val)}: ${why}`, t.pos, t.pos + t.val.length);
  }
}

/** Duration literals must have known units in decreasing order (Prometheus' parseDuration). */
export function checkDurationToken(t: Tok, fail: SyntaxFail): void {
  const msg = durationLiteralError(t.val);
  if (msg) throw fail(msg, t.pos, t.pos + t.val.length);
}

/**
 * Literal checks inside durations (brackets, offsets). `prev` is the token before `t` (a `/` or
 * `%` before a zero literal is an error); a signed offset reports the `sign`'s position.
 */
export function checkDurationLiteral(t: Tok, prev: Tok | undefined, fail: SyntaxFail, sign?: Tok): void {
  if (t.kind === "DURATION") checkDurationToken(t, fail);
  if (t.kind !== "NUMBER" && t.kind !== "DURATION") return;
  checkNumberLiteral(t, fail);
  const v = literalSeconds(t);
  if (t.kind === "NUMBER" && Math.abs(v) * 1e9 > 9.223372036854775807e18) {
    const at = sign ?? t;
    throw fail("duration out of range", at.pos, at.pos + at.val.length);
  }
  if (prev?.kind === "op" && (prev.val === "/" || prev.val === "%") && v === 0) {
    throw fail(prev.val === "/" ? "division by zero" : "modulo by zero", prev.pos, prev.pos + 1);
  }
}

/** Prometheus rejects non-positive literal ranges and steps (`toks`: a literal, maybe signed). */
export function checkPositiveDuration(toks: Tok[], fail: SyntaxFail): void {
  const lit = toks[toks.length - 1];
  const signed = toks.length === 2 && toks[0]!.kind === "op" && (toks[0]!.val === "-" || toks[0]!.val === "+");
  if (!lit || !(toks.length === 1 || signed) || (lit.kind !== "NUMBER" && lit.kind !== "DURATION")) return;
  const v = literalSeconds(lit);
  if (Number.isNaN(v)) return;
  const value = signed && toks[0]!.val === "-" ? -v : v;
  if (value <= 0) throw fail("duration must be greater than 0", toks[0]!.pos, lit.pos + lit.val.length);
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
  for (const m of t.val.matchAll(/([0-9]+)([a-z]+)/g)) s += Number(m[1]) * (UNIT_SECONDS[m[2]!] ?? NaN);
  return s;
}
