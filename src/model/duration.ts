/**
 * Prometheus durations (`1h30m`, `500ms`, `2d`): one parser for flags, PromQL literals and HTTP API
 * parameters, so all three accept and reject the same strings, as Prometheus' `model.ParseDuration`.
 */

/** Unit lengths in milliseconds, largest first (the order units must appear in). */
const UNITS: readonly (readonly [string, number])[] = [
  ["y", 365 * 86_400_000],
  ["w", 7 * 86_400_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];

/** Raised for a string that is not a Prometheus duration. */
export class DurationError extends Error {
  override name = "DurationError";
}

const PART = /(\d+)(ms|s|m|h|d|w|y)/y;

/**
 * Parses a duration into milliseconds. Units go from largest to smallest, each at most once, as
 * Prometheus requires; `"0"` alone is zero. Throws {@link DurationError} otherwise.
 */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  if (text === "") throw new DurationError("empty duration string");
  let total = 0;
  let pos = 0;
  let lastUnit = -1;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) throw new DurationError(`not a valid duration string: ${JSON.stringify(text)}`);
    const unit = UNITS.findIndex(([u]) => u === m[2]);
    if (unit <= lastUnit) throw new DurationError(`not a valid duration string: ${JSON.stringify(text)}`);
    lastUnit = unit;
    total += Number(m[1]) * UNITS[unit]![1];
    pos = PART.lastIndex;
  }
  if (!Number.isSafeInteger(total)) throw new DurationError(`duration out of range: ${JSON.stringify(text)}`);
  return total;
}

/** Formats milliseconds the way Prometheus prints durations (`1h30m`, `0s`, `1d`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = Math.abs(ms);
  let out = ms < 0 ? "-" : "";
  for (const [unit, len] of UNITS) {
    if (unit === "w" && rest % len !== 0) continue; // as Prometheus: weeks only when exact
    const n = Math.floor(rest / len);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * len;
    }
  }
  return out;
}
