/**
 * Retries with capped exponential backoff and full jitter for transient object-storage failures
 * (5xx, throttling, timeouts, connection resets). Permanent errors such as a missing object are
 * returned at once so callers never spin on them.
 */

/** Retry policy. */
export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  readonly attempts?: number;
  /** First backoff in ms (default 100). */
  readonly baseDelayMs?: number;
  /** Backoff cap in ms (default 5000). */
  readonly maxDelayMs?: number;
  /** Aborts waiting and further attempts. */
  readonly signal?: AbortSignal;
  /** Called before each retry, for logs and metrics. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, `isRetryable(err)` is false, or attempts run out; the last error is
 * rethrown unchanged.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, isRetryable: (err: unknown) => boolean, opts: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const base = opts.baseDelayMs ?? 100;
  const cap = opts.maxDelayMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err) || opts.signal?.aborted) throw err;
      const delay = Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT",
]);
const TRANSIENT_NAMES = new Set([
  "TimeoutError", "RequestTimeout", "RequestTimeoutException", "SlowDown", "Throttling", "ThrottlingException",
  "InternalError", "ServiceUnavailable", "TooManyRequestsException", "RequestTimeTooSkewed",
]);

/**
 * Classifies errors from the AWS SDK and fetch: HTTP 5xx and 429, throttling names, timeouts and
 * socket-level failures are transient; everything else (404, 403, 400, aborts by the caller) is not.
 */
export function isTransientError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; cause?: unknown; message?: string };
  if (e.name === "AbortError") return false;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (status !== undefined && status >= 400) return false;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.message === "string" && /socket hang up|ECONNRESET|timed? ?out|other side closed/i.test(e.message)) return true;
  if (e.cause && e.cause !== err) return isTransientError(e.cause);
  return false;
}
