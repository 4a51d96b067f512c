/**
 * Number formatting byte-identical to Prometheus' HTTP API. Go and JS disagree on details that
 * matter to clients comparing bytes (exponent digits, `+Inf`, `-0`, trailing zeros of sample
 * timestamps), so every float that reaches JSON goes through these functions.
 */

/** Shortest round-trip digits and decimal exponent of a finite, non-zero |v|. */
function shortestDigits(v: number): { digits: string; exp: number } {
  const [mant, e] = Math.abs(v).toExponential().split("e") as [string, string];
  return { digits: mant.replace(".", ""), exp: Number(e) };
}

/** Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent. */
export function formatFloatFixed(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const sign = v < 0 ? "-" : "";
  const { digits, exp } = shortestDigits(v);
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return sign + digits + "0".repeat(exp + 1 - digits.length);
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** Go's `strconv.FormatFloat(v, 'e', -1, 64)`: shortest digits, exponent with at least 2 digits. */
export function formatFloatExp(v: number): string {
  if (!Number.isFinite(v) || v === 0) return formatFloatFixed(v);
  const sign = v < 0 ? "-" : "";
  const { digits, exp } = shortestDigits(v);
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${mant}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
}

/**
 * A sample value as vectors and matrices print it: `'e'` form below 1e-6 or from 1e21 on, `'f'`
 * otherwise; `NaN`, `+Inf`, `-Inf`, `-0` spelled as Go spells them.
 */
export function formatSampleValue(v: number): string {
  const a = Math.abs(v);
  // Fast path: from 1e-6 up to 1e21 JS prints the same shortest round-trip digits without an
  // exponent (ECMAScript Number::toString), exactly Go's 'f' form. Excludes 0 (-0), NaN and ±Inf.
  if (a >= 1e-6 && a < 1e21) return String(v);
  if (a !== 0 && Number.isFinite(a) && (a < 1e-6 || a >= 1e21)) return formatFloatExp(v);
  return formatFloatFixed(v);
}

/** A sample timestamp in vectors and matrices: integer seconds, then `.` and exactly 3 ms digits when ms ≠ 0. */
export function formatSampleTime(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  const a = Math.abs(ms);
  const sec = Math.floor(a / 1000);
  const frac = a - sec * 1000;
  return frac === 0 ? `${sign}${sec}` : `${sign}${sec}.${String(frac).padStart(3, "0")}`;
}

/** A timestamp in scalar and string results: `ms / 1000` printed as Go's encoding/json prints floats. */
export function formatScalarTime(ms: number): string {
  // encoding/json follows the ES6 number-to-string rules, except exponents get no "+" stripped: it
  // prints 1e+21 as "1e+21", as JS does; below 1e-6 Go prints "1e-07" where JS prints "1e-7".
  const s = String(ms / 1000);
  return s.replace(/e-(\d)$/, "e-0$1");
}
