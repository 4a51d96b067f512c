/** The error of an invalid matcher or regular expression (kept apart so regex.ts and matcher.ts share it without a cycle). */

/** Error raised for an invalid regular expression in a matcher; callers map it to `bad_data` / InvalidArgument. */
export class MatcherError extends Error {
  override name = "MatcherError";
}
