/**
 * Reads one store's Series stream for the fan-out: reads ahead into a bounded queue (so all stores
 * download in parallel while the merge consumes), unpacks `SeriesBatch` frames, enforces the
 * per-store response timeout (`--store.response-timeout`: longest silence between frames) and, for
 * stores that cannot strip `without_replica_labels`, strips and re-sorts on the client side.
 */
import type { SeriesRequest, SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import type { Series } from "../gen/store/storepb/types_pb.ts";
import { compareLabels } from "../model/labels.ts";

/** A store as the fan-out sees it. */
export interface FanoutStore {
  /** Name used in warnings (the endpoint address). */
  readonly name: string;
  series(req: SeriesRequest, signal: AbortSignal): AsyncIterable<SeriesResponse>;
  /** False: the querier removes replica labels and re-sorts this store's stream itself. Default true. */
  readonly supportsWithoutReplicaLabels?: boolean;
}

/** What a reader yields: a series, or a warning the store sent. */
export type ReaderItem = { readonly series: Series } | { readonly warning: string };

/** Failure of one store (start, stream or timeout), worded as Thanos words it. */
export class StoreFailure extends Error {
  override name = "StoreFailure";
}

/** Buffered reader over one store's stream. */
export interface StoreReader {
  readonly store: FanoutStore;
  /** Next item, or undefined at the end; rejects with {@link StoreFailure}. */
  next(): Promise<ReaderItem | undefined>;
  /** Cancels the call. */
  cancel(): void;
}

/** Options of {@link openStoreReader}. */
export interface StoreReaderOptions {
  /** Longest wait for the next frame in ms; 0 or undefined disables. */
  responseTimeoutMs?: number;
  /**
   * Decoded series (or warnings) held ahead of the merge; default 64, one SeriesBatch frame. The
   * bytes behind them keep arriving meanwhile (HTTP/2 windows): holding more decoded objects only
   * makes them survive young-generation GCs.
   */
  readAhead?: number;
  signal?: AbortSignal;
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Starts reading `store`'s Series stream for `req`. */
export function openStoreReader(store: FanoutStore, req: SeriesRequest, opts: StoreReaderOptions = {}): StoreReader {
  const ac = new AbortController();
  const onParentAbort = (): void => ac.abort(opts.signal?.reason);
  if (opts.signal?.aborted) ac.abort(opts.signal.reason);
  else opts.signal?.addEventListener("abort", onParentAbort, { once: true });
  const capacity = opts.readAhead ?? 64;
  const timeoutMs = opts.responseTimeoutMs ?? 0;
  const strip = req.withoutReplicaLabels.length > 0 && store.supportsWithoutReplicaLabels === false ? new Set(req.withoutReplicaLabels) : undefined;

  const queue: ReaderItem[] = [];
  let done = false;
  let failure: StoreFailure | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const notify = (): void => { const w = wakeConsumer; wakeConsumer = undefined; w?.(); };

  function push(item: ReaderItem): void {
    queue.push(item);
    notify();
  }

  async function nextFrame(it: AsyncIterator<SeriesResponse>): Promise<IteratorResult<SeriesResponse>> {
    if (timeoutMs <= 0) return it.next();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreFailure(`failed to receive any data in ${formatDuration(timeoutMs)} from ${store.name}`)), timeoutMs);
    });
    try {
      return await Promise.race([it.next(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  void (async () => {
    const buffered: Series[] = [];
    let it: AsyncIterator<SeriesResponse> | undefined;
    let finished = false;
    try {
      it = store.series(req, ac.signal)[Symbol.asyncIterator]();
      for (;;) {
        while (queue.length >= capacity && !ac.signal.aborted) await new Promise<void>((r) => { wakeProducer = r; });
        if (ac.signal.aborted) break;
        const r = await nextFrame(it);
        if (r.done) break;
        const res = r.value.result;
        const emit = (s: Series): void => {
          if (strip) buffered.push({ ...s, labels: s.labels.filter((l) => !strip.has(l.name)) });
          else push({ series: s });
        };
        if (res.case === "series") emit(res.value);
        else if (res.case === "batch") for (const s of res.value.series) emit(s);
        else if (res.case === "warning") push({ warning: res.value });
        // Hints frames describe the store's own work; the fan-out does not forward them.
      }
      if (strip) {
        // Client-side fallback (Thanos proxy): stripped labels change the order, so re-sort.
        buffered.sort((a, b) => compareLabels(a.labels, b.labels));
        for (const s of buffered) queue.push({ series: s });
      }
      finished = !ac.signal.aborted;
    } catch (err) {
      if (!ac.signal.aborted || err instanceof StoreFailure) {
        const message = err instanceof StoreFailure ? err.message : `receive series from ${store.name}: ${err instanceof Error ? err.message : String(err)}`;
        failure = new StoreFailure(message, { cause: err });
      }
      ac.abort(failure);
    } finally {
      // Release the stream when we stopped early (cancel, failure, timeout).
      if (!finished) void it?.return?.().catch(() => undefined);
      done = true;
      opts.signal?.removeEventListener("abort", onParentAbort);
      notify();
    }
  })();

  return {
    store,
    async next() {
      for (;;) {
        if (queue.length > 0) {
          const item = queue.shift()!;
          const w = wakeProducer;
          wakeProducer = undefined;
          w?.();
          return item;
        }
        if (failure) throw failure;
        if (done) return undefined;
        await new Promise<void>((r) => { wakeConsumer = r; });
      }
    },
    cancel() {
      ac.abort(new StoreFailure(`canceled request to ${store.name}`));
      const w = wakeProducer;
      wakeProducer = undefined;
      w?.();
    },
  };
}
