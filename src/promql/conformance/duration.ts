/**
 * Prometheus duration strings as `model.ParseDuration` accepts them (`0`, `5m`, `1h30m`, `10s53ms`,
 * units y w d h m s ms in that order, each at most once), used by the test-script format for
 * `load` intervals and `eval` times.
 */

const UNITS_MS: Record<string, number> = { y: 365 * 86400e3, w: 7 * 86400e3, d: 86400e3, h: 3600e3, m: 60e3, s: 1e3, ms: 1 };
const ORDER = ["y", "w", "d", "h", "m", "s", "ms"];

/** Parses a duration to milliseconds; throws on malformed input. A leading `-` negates. */
export function parseDuration(text: string): number {
  let s = text.trim();
  let sign = 1;
  if (s.startsWith("-")) {
    sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new Error(`empty duration string`);
  const re = /([0-9]+)(ms|y|w|d|h|m|s)/y;
  let pos = 0;
  let last = -1;
  let total = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new Error(`not a valid duration string: ${JSON.stringify(text)}`);
    const idx = ORDER.indexOf(m[2]!);
    if (idx <= last) throw new Error(`not a valid duration string: ${JSON.stringify(text)}`);
    last = idx;
    total += Number(m[1]) * UNITS_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  return sign * total;
}
