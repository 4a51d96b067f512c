/**
 * Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus semantics: regexes are fully anchored,
 * and a matcher on an absent label sees the empty string. Shared by the TSDB index, the stores
 * (StoreAPI `LabelMatcher`) and PromQL selectors.
 */
import { MatcherError } from "./matcher-error.ts";
import { compilePromRegex } from "./regex.ts";

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

export { MatcherError };

/**
 * Compiles a matcher. Regexes are RE2 syntax in Prometheus, translated to JS by regex.ts (scoped
 * flags, POSIX classes, `\Q..\E`, ...), so the engine, the stores and the TSDB index agree on
 * what a regex matches. `(?s)` is implied: Prometheus matches `.` against newlines.
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

/** Compiles `^(?:re)$` with Prometheus (RE2) semantics; cached. See {@link compilePromRegex}. */
export const compileAnchoredRegex: (source: string) => RegExp = compilePromRegex;

/** True when the matcher accepts the empty string (so it also matches series lacking the label). */
export function matchesEmpty(m: Matcher): boolean {
  return m.matches("");
}
