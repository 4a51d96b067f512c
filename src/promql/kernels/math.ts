/**
 * Element-wise float kernels for PromQL's math and trigonometry functions, with Prometheus'
 * definitions where they differ from a plain `Math.*` call (`sgn` keeps ±0 and NaN, `round` rounds
 * half up to a multiple, `clamp` returns nothing when min > max, `deg`/`rad` use π/180).
 * The engine maps each over a vector's float samples and drops `__name__`.
 */

/** A function of one float, as used for `abs(v)`, `ln(v)`, … */
export type UnaryKernel = (x: number) => number;

/** `sgn(v)`: −1, 1, or the value itself for ±0 and NaN. */
export function sgn(x: number): number {
  if (x < 0) return -1;
  if (x > 0) return 1;
  return x;
}

/** `deg(v)`: radians to degrees, `x·180/π` (in that order, as Prometheus). */
export function deg(x: number): number {
  return (x * 180) / Math.PI;
}

/** `rad(v)`: degrees to radians, `x·π/180`. */
export function rad(x: number): number {
  return (x * Math.PI) / 180;
}

/**
 * The unary functions by PromQL name. Go's math package and JS Math agree for these up to the last
 * bit in the cases that matter here (PromQL tests compare with relative tolerance 1e-6).
 */
export const UNARY_KERNELS: Readonly<Record<string, UnaryKernel>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg,
  rad,
};

/**
 * `round(v, to_nearest=1)`: rounds to the nearest multiple of `toNearest`, ties up (towards +Inf),
 * computed as `floor(x·(1/n) + 0.5) / (1/n)` — Prometheus inverts first because that loses less
 * precision for fractional `n` such as 0.1.
 */
export function round(x: number, toNearest = 1): number {
  const inv = 1 / toNearest;
  return Math.floor(x * inv + 0.5) / inv;
}

/**
 * `clamp(v, min, max)` for one value: `max(min, min(max, x))` with Go's NaN propagation. Callers
 * must drop the whole vector when `min > max` (see {@link clampValid}).
 */
export function clamp(x: number, min: number, max: number): number {
  return goMax(min, goMin(max, x));
}

/** False when `clamp(v, min, max)` returns an empty vector (Prometheus: `max < min`). */
export function clampValid(min: number, max: number): boolean {
  return !(max < min);
}

/** Go `math.Max`: +Inf wins, then NaN wins, −0 < +0. */
export function goMax(a: number, b: number): number {
  if (a === Infinity || b === Infinity) return Infinity;
  if (a !== a || b !== b) return NaN;
  if (a === 0 && b === 0) return Object.is(a, -0) ? b : a;
  return a > b ? a : b;
}

/** Go `math.Min`: −Inf wins, then NaN wins, −0 < +0. */
export function goMin(a: number, b: number): number {
  if (a === -Infinity || b === -Infinity) return -Infinity;
  if (a !== a || b !== b) return NaN;
  if (a === 0 && b === 0) return Object.is(a, -0) ? a : b;
  return a < b ? a : b;
}
