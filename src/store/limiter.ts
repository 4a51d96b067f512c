/**
 * Per-request limits of the store gateway (`--store.limits.request-series`,
 * `--store.limits.request-samples`) and the gate bounding concurrent Series calls
 * (`--store.grpc.series-max-concurrency`). Exceeding a limit is gRPC ResourceExhausted with a
 * message naming the limit, as Thanos answers.
 */
import { Code, ConnectError } from "@connectrpc/connect";

/** Counts what one request touched and throws once a limit is exceeded. */
export interface RequestLimiter {
  /** Adds `n` series; throws ResourceExhausted when the series limit is exceeded. */
  addSeries(n: number): void;
  /** Adds `n` samples; throws ResourceExhausted when the samples limit is exceeded. */
  addSamples(n: number): void;
}

/** Limits of one request; 0 means unlimited. */
export interface RequestLimits {
  readonly series: number;
  readonly samples: number;
}

/** Creates a limiter; `onExceeded` is told which limit tripped (metrics). */
export function createRequestLimiter(limits: RequestLimits, onExceeded?: (which: "series" | "samples") => void): RequestLimiter {
  let series = 0;
  let samples = 0;
  return {
    addSeries(n) {
      series += n;
      if (limits.series > 0 && series > limits.series) {
        onExceeded?.("series");
        throw new ConnectError(
          `exceeded series limit: limit ${limits.series} series (--store.limits.request-series), the request touched at least ${series}`,
          Code.ResourceExhausted,
        );
      }
    },
    addSamples(n) {
      samples += n;
      if (limits.samples > 0 && samples > limits.samples) {
        onExceeded?.("samples");
        throw new ConnectError(
          `exceeded samples limit: limit ${limits.samples} samples (--store.limits.request-samples), the request touched at least ${samples}`,
          Code.ResourceExhausted,
        );
      }
    },
  };
}

/** A counting semaphore: at most `max` holders, the rest wait in FIFO order. */
export interface Gate {
  /** Waits for a slot; the returned function releases it. Rejects if `signal` aborts while waiting. */
  acquire(signal?: AbortSignal): Promise<() => void>;
  readonly inFlight: number;
  readonly waiting: number;
}

/** Creates a gate; `max` ≤ 0 means unbounded. */
export function createGate(max: number): Gate {
  let inFlight = 0;
  const queue: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  const release = () => {
    inFlight--;
    const next = queue.shift();
    if (next) {
      inFlight++;
      next.resolve();
    }
  };
  return {
    async acquire(signal) {
      if (max <= 0 || inFlight < max) {
        inFlight++;
      } else {
        await new Promise<void>((resolve, reject) => {
          const entry = {
            resolve: () => {
              signal?.removeEventListener("abort", onAbort);
              resolve();
            },
            reject,
          };
          const onAbort = () => {
            const i = queue.indexOf(entry);
            if (i >= 0) queue.splice(i, 1);
            reject(signal!.reason);
          };
          signal?.addEventListener("abort", onAbort, { once: true });
          queue.push(entry);
        });
      }
      let released = false;
      return () => {
        if (!released) {
          released = true;
          release();
        }
      };
    },
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return queue.length;
    },
  };
}
