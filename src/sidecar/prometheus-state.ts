/**
 * What the sidecar knows about its Prometheus, refreshed at start and every 30 s (Thanos'
 * heartbeat): external labels, version and lowest timestamp. The sidecar is ready once Prometheus
 * answered and unready again (not dead) while Prometheus is unreachable. No external labels is
 * fatal: the caller stops the process with the error's message.
 */
import type { Labels } from "../model/labels.ts";
import { NoExternalLabelsError, type PrometheusClient } from "./prometheus-client.ts";

/** Snapshot of Prometheus' state plus the refresh loop. */
export interface PrometheusState {
  /** True after a successful refresh, false while the last refresh failed. */
  readonly ready: boolean;
  /** External labels from the last successful refresh (empty before the first). */
  readonly externalLabels: Labels;
  /** Lowest timestamp in Prometheus (ms), -Infinity when unknown or empty. */
  readonly minTime: number;
  /** Prometheus version, "" before the first refresh. */
  readonly version: string;
  /** Message of the last refresh failure, "" after a success. */
  readonly lastError: string;
  /** Queries Prometheus once; throws on failure (and marks the state unready). */
  refresh(signal?: AbortSignal): Promise<void>;
  /**
   * Refreshes every `intervalMs` until stopped. Failures mark the state unready and are reported
   * to `onError`; a {@link NoExternalLabelsError} goes to `onFatal` instead and stops the loop.
   * Returns a stop function.
   */
  startHeartbeat(opts: { intervalMs?: number; onError?: (err: Error) => void; onFatal?: (err: Error) => void }): () => void;
}

/** Creates the state holder for the Prometheus behind `client`. */
export function createPrometheusState(client: PrometheusClient): PrometheusState {
  let ready = false;
  let externalLabels: Labels = [];
  let minTime = -Infinity;
  let version = "";
  let lastError = "";

  async function refresh(signal?: AbortSignal): Promise<void> {
    try {
      // Labels first: without them nothing else matters (fatal).
      const labels = await client.externalLabels(signal);
      const [v, lowest] = await Promise.all([client.version(signal), client.lowestTimestamp(signal)]);
      externalLabels = labels;
      version = v;
      minTime = lowest;
      ready = true;
      lastError = "";
    } catch (err) {
      ready = false;
      lastError = (err as Error).message;
      throw err;
    }
  }

  return {
    get ready() {
      return ready;
    },
    get externalLabels() {
      return externalLabels;
    },
    get minTime() {
      return minTime;
    },
    get version() {
      return version;
    },
    get lastError() {
      return lastError;
    },
    refresh,
    startHeartbeat({ intervalMs = 30_000, onError, onFatal }) {
      let stopped = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const abort = new AbortController();
      const tick = async () => {
        try {
          await refresh(abort.signal);
        } catch (err) {
          if (stopped) return;
          if (err instanceof NoExternalLabelsError) {
            stopped = true;
            onFatal?.(err);
            return;
          }
          onError?.(err as Error);
        }
        if (!stopped) timer = setTimeout(tick, intervalMs);
      };
      timer = setTimeout(tick, intervalMs);
      return () => {
        stopped = true;
        abort.abort();
        if (timer !== undefined) clearTimeout(timer);
      };
    },
  };
}
