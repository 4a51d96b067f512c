/**
 * Go float formatting used where Prometheus turns numbers into label values or messages:
 * `strconv.FormatFloat(f, 'f', -1, 64)` (count_values label values) and `%g`/`%v` (error texts).
 */

/** Shortest round-trip digits and decimal exponent of a finite non-zero |v|: v = 0.d1d2... × 10^dp. */
function digits(v: number): { d: string; dp: number } {
  const [mant, exp] = Math.abs(v).toExponential().split("e") as [string, string];
  const d = mant.replace(".", "");
  return { d, dp: Number(exp) + 1 };
}

/**
 * Formats like Go: `fixed` → `FormatFloat(v, 'f', -1, 64)` (never an exponent), otherwise
 * `%g`/`%v` (shortest digits; exponent form when the exponent is < -4 or >= 6).
 */
export function formatGoFloat(v: number, fixed = false): string {
  if (v !== v) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const sign = v < 0 ? "-" : "";
  const { d, dp } = digits(v);
  const exp = dp - 1;
  if (!fixed && (exp < -4 || exp >= 6)) {
    const m = d.length > 1 ? `${d[0]}.${d.slice(1)}` : d;
    const es = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${es}`;
  }
  if (dp <= 0) return `${sign}0.${"0".repeat(-dp)}${d}`;
  if (dp >= d.length) return `${sign}${d}${"0".repeat(dp - d.length)}`;
  return `${sign}${d.slice(0, dp)}.${d.slice(dp)}`;
}
