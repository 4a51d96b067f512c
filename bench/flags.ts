/**
 * Numeric options of the benchmarks: `--name=N` or `--name N`, with a default. A value that is
 * not a positive number is an error (a bench silently run with NaN series measures nothing).
 */

/** The value of `--name`, or `fallback` when it is not given. */
export function numberFlag(args: readonly string[], name: string, fallback: number): number {
  const eq = args.find((x) => x.startsWith(`--${name}=`));
  const i = args.indexOf(`--${name}`);
  const text = eq !== undefined ? eq.slice(name.length + 3) : i >= 0 ? args[i + 1] : undefined;
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}
