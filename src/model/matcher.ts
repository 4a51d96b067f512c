/**
 * Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus semantics: regexes are fully anchored,
 * and a matcher on an absent label sees the empty string. Shared by the TSDB index, the stores
 * (StoreAPI `LabelMatcher`) and PromQL selectors.
 */

/** Matcher operators as PromQL writes them. */
export type MatchType = "=" | "!=" | "=~" | "!~";

/** A compiled label matcher. */
export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  /** True when `value` (the label's value, "" if absent) satisfies the matcher. */
  matches(value: string): boolean;
}

/** Error raised for an invalid regular expression in a matcher; callers map it to `bad_data`. */
export class MatcherError extends Error {
  override name = "MatcherError";
}

/**
 * Compiles a matcher. Regexes are RE2 syntax in Prometheus; JS RegExp covers the syntax used in
 * practice. `(?s)` is implied: Prometheus matches `.` against newlines.
 */
export function createMatcher(type: MatchType, name: string, value: string): Matcher {
  switch (type) {
    case "=":
      return { type, name, value, matches: (v) => v === value };
    case "!=":
      return { type, name, value, matches: (v) => v !== value };
    case "=~":
    case "!~": {
      const re = compileAnchoredRegex(value);
      const positive = type === "=~";
      return { type, name, value, matches: (v) => re.test(v) === positive };
    }
    default:
      throw new MatcherError(`unknown matcher type ${JSON.stringify(type)}`);
  }
}

const regexCache = new Map<string, RegExp>();

/** Compiles `^(?:re)$` with dotAll, translating the RE2-only constructs JS lacks. Cached. */
export function compileAnchoredRegex(source: string): RegExp {
  let re = regexCache.get(source);
  if (re) return re;
  try {
    re = new RegExp(`^(?:${translateRe2(source)})$`, "su");
  } catch (err) {
    throw new MatcherError(`invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
  if (regexCache.size > 10_000) regexCache.clear();
  regexCache.set(source, re);
  return re;
}

/** Handles RE2 inline flags at the start, e.g. `(?i)`, which JS does not accept. */
function translateRe2(source: string): string {
  const m = /^\(\?([imsU]+)\)/.exec(source);
  if (!m) return source;
  const rest = source.slice(m[0].length);
  if (m[1]!.includes("i")) {
    // Case-insensitive: expand letters outside character classes conservatively.
    return caseFold(rest);
  }
  return rest;
}

function caseFold(source: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      out += c + (source[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    const lower = c.toLowerCase();
    const upper = c.toUpperCase();
    if (lower !== upper) out += inClass ? lower + upper : `[${lower}${upper}]`;
    else out += c;
  }
  return out;
}

/** True when the matcher accepts the empty string (so it also matches series lacking the label). */
export function matchesEmpty(m: Matcher): boolean {
  return m.matches("");
}
