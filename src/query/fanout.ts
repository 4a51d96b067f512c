/**
 * Fan-out of one SeriesRequest to many stores and k-way merge of their sorted streams (Thanos
 * ProxyStore + responseDeduplicator): series come out in label order, equal series from several
 * stores (or split over frames) are folded into one with their chunks sorted by time and identical
 * chunks (same hash, or same bytes when a hash is missing) dropped. A failing or silent store becomes
 * a warning (partial response) or fails the whole call (`partial_response_strategy = ABORT`).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { SeriesRequest, SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { PartialResponseStrategy } from "../gen/store/storepb/types_pb.ts";
import type { AggrChunk, Chunk, Series } from "../gen/store/storepb/types_pb.ts";
import { compareLabels } from "../model/labels.ts";
import { openStoreReader, StoreFailure } from "./fanout-reader.ts";
import type { FanoutStore, ReaderItem, StoreReader } from "./fanout-reader.ts";

/** Re-exported so fan-out users need one import. */
export type { FanoutStore } from "./fanout-reader.ts";

/** Options of {@link fanoutSeries}. */
export interface FanoutOptions {
  /** `--store.response-timeout` in ms: longest silence allowed between a store's frames. 0 = none. */
  responseTimeoutMs?: number;
  /** Decoded series each store may hold ahead of the merge; default 64 (see openStoreReader). */
  readAhead?: number;
  signal?: AbortSignal;
}

/** `response_batch_size` the fan-out asks stores for (Thanos' `DefaultResponseBatchSize`). */
export const DOWNSTREAM_BATCH_SIZE = 64n;

/** True when the request asks to fail on any store failure instead of warning. */
export function isAbortStrategy(req: SeriesRequest): boolean {
  return req.partialResponseDisabled || req.partialResponseStrategy === PartialResponseStrategy.ABORT;
}

function warningFrame(message: string): SeriesResponse {
  return { $typeName: "thanos.SeriesResponse", result: { case: "warning", value: message } };
}

function seriesFrame(series: Series): SeriesResponse {
  return { $typeName: "thanos.SeriesResponse", result: { case: "series", value: series } };
}

/** The first set field of an AggrChunk in Thanos' dedup order: raw, count, max, min, sum, counter. */
function keyChunk(c: AggrChunk): { field: number; chunk: Chunk } | undefined {
  const fields = [c.raw, c.count, c.max, c.min, c.sum, c.counter];
  for (let i = 0; i < fields.length; i++) if (fields[i]) return { field: i, chunk: fields[i]! };
  return undefined;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Two chunks are the same data when their first fields agree by hash (both set) or by bytes. */
function sameChunk(a: AggrChunk, b: AggrChunk): boolean {
  const ka = keyChunk(a);
  const kb = keyChunk(b);
  if (!ka || !kb) return !ka && !kb;
  if (ka.field !== kb.field || ka.chunk.type !== kb.chunk.type) return false;
  if (ka.chunk.hash !== 0n && kb.chunk.hash !== 0n) return ka.chunk.hash === kb.chunk.hash;
  return bytesEqual(ka.chunk.data, kb.chunk.data);
}

function compareChunks(a: AggrChunk, b: AggrChunk): number {
  if (a.minTime !== b.minTime) return a.minTime < b.minTime ? -1 : 1;
  if (a.maxTime !== b.maxTime) return a.maxTime < b.maxTime ? -1 : 1;
  return 0;
}

/**
 * Sorts chunks by (min_time, max_time) and drops duplicates. Identical chunks have identical time
 * ranges, so only neighbours within a run of equal ranges need comparing.
 */
export function dedupChunks(chunks: readonly AggrChunk[]): AggrChunk[] {
  return dedupSortedChunks([...chunks].sort(compareChunks));
}

/**
 * Merges two chunk lists that are each strictly ordered by time range into one ordered list, the
 * first list winning ties: the order a stable sort of their concatenation gives, in linear time.
 */
function mergeSortedChunks(a: readonly AggrChunk[], b: readonly AggrChunk[]): AggrChunk[] {
  const out: AggrChunk[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(compareChunks(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/**
 * The chunks of one series from several frames or stores, sorted and deduplicated: exactly
 * `dedupChunks(parts.flat())`, but two parts that are each strictly ordered (an HA pair's stores)
 * are merged in linear time instead of sorted.
 */
export function mergeChunkParts(parts: readonly (readonly AggrChunk[])[]): AggrChunk[] {
  if (parts.length === 2 && isStrictlySortedByTime(parts[0]!) && isStrictlySortedByTime(parts[1]!)) {
    return dedupSortedChunks(mergeSortedChunks(parts[0]!, parts[1]!));
  }
  return dedupChunks(parts.flat());
}

/** The dedup step of {@link dedupChunks} on chunks already sorted by (min_time, max_time). */
function dedupSortedChunks(sorted: readonly AggrChunk[]): AggrChunk[] {
  const out: AggrChunk[] = [];
  let runStart = 0;
  for (const c of sorted) {
    if (out.length > runStart && compareChunks(out[runStart]!, c) !== 0) runStart = out.length;
    let dup = false;
    for (let i = runStart; i < out.length && !dup; i++) dup = sameChunk(out[i]!, c);
    if (!dup) out.push(c);
  }
  return out;
}

/** True when chunks are strictly ordered by time range: then they are sorted and cannot hold duplicates. */
function isStrictlySortedByTime(chunks: readonly AggrChunk[]): boolean {
  for (let i = 1; i < chunks.length; i++) if (compareChunks(chunks[i - 1]!, chunks[i]!) >= 0) return false;
  return true;
}

/** Min-heap of readers keyed by their current head series' labels. */
class ReaderHeap {
  private readonly items: { reader: StoreReader; rank: number; head: Series }[] = [];
  get size(): number { return this.items.length; }
  /** Orders by labels, then by store position so folding (and which duplicate chunk survives) is deterministic. */
  private less(x: { rank: number; head: Series }, y: { rank: number; head: Series }): boolean {
    const c = compareLabels(x.head.labels, y.head.labels);
    return c < 0 || (c === 0 && x.rank < y.rank);
  }
  push(reader: StoreReader, rank: number, head: Series): void {
    const a = this.items;
    a.push({ reader, rank, head });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): { reader: StoreReader; rank: number; head: Series } | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Sends `req` to every store in `stores` and yields the merged stream: warnings (from stores, or
 * for failed stores under WARN) and series sorted by labels, folded and chunk-deduplicated. Honours
 * `req.limit`. Under ABORT the first store failure or warning throws `ConnectError(Aborted)`.
 */
export async function* fanoutSeries(stores: readonly FanoutStore[], req: SeriesRequest, opts: FanoutOptions = {}): AsyncGenerator<SeriesResponse> {
  const abort = isAbortStrategy(req);
  const limit = req.limit > 0n ? Number(req.limit) : Infinity;
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(opts.signal?.reason);
  if (opts.signal?.aborted) ac.abort(opts.signal.reason);
  else opts.signal?.addEventListener("abort", onAbort, { once: true });
  // Ask stores for SeriesBatch frames as Thanos' querier does (64 series per frame): per-frame
  // overhead dominates otherwise. Readers unpack batches, so callers never see the difference.
  const downstream: SeriesRequest = req.responseBatchSize > 1n ? req : { ...req, responseBatchSize: DOWNSTREAM_BATCH_SIZE };
  const readers = stores.map((s) => openStoreReader(s, downstream, {
    signal: ac.signal,
    ...(opts.responseTimeoutMs !== undefined ? { responseTimeoutMs: opts.responseTimeoutMs } : {}),
    ...(opts.readAhead !== undefined ? { readAhead: opts.readAhead } : {}),
  }));
  const warnings: string[] = [];
  const heap = new ReaderHeap();
  // A canceled or timed-out caller must not see a silently truncated result: readers end quietly
  // when aborted, so check the caller's signal whenever they report.
  const checkCanceled = (): void => {
    if (!opts.signal?.aborted) return;
    const reason: unknown = opts.signal.reason;
    throw reason instanceof Error ? reason : new ConnectError("fan-out canceled", Code.Canceled);
  };

  // Advances a reader to its next series, collecting warnings and failures on the way.
  async function advance(reader: StoreReader, rank: number): Promise<void> {
    for (;;) {
      let item: ReaderItem | undefined;
      try {
        item = await reader.next();
      } catch (err) {
        const message = err instanceof StoreFailure ? err.message : `receive series from ${reader.store.name}: ${String(err)}`;
        if (abort) throw new ConnectError(message, Code.Aborted, undefined, undefined, err);
        warnings.push(message);
        return;
      }
      if (item === undefined) { checkCanceled(); return; }
      if ("warning" in item) {
        if (abort) throw new ConnectError(`warning from ${reader.store.name}: ${item.warning}`, Code.Aborted);
        warnings.push(item.warning);
        continue;
      }
      heap.push(reader, rank, item.series);
      return;
    }
  }

  try {
    await Promise.all(readers.map((r, i) => advance(r, i)));
    checkCanceled();
    let emitted = 0;
    let current: Series | undefined;
    let parts: AggrChunk[][] = [];

    const flush = (): Series => {
      const s = current!;
      current = undefined;
      // Common case: one frame whose chunks are already in order and distinct; pass it through.
      if (parts.length === 1 && isStrictlySortedByTime(parts[0]!)) { parts = []; return s; }
      const chunks = mergeChunkParts(parts);
      parts = [];
      return { $typeName: "thanos.Series", labels: s.labels, chunks };
    };

    while (heap.size > 0) {
      const { reader, rank, head } = heap.pop()!;
      // Warnings go out before the series that follow them (Thanos sorts non-series first).
      while (warnings.length > 0) yield warningFrame(warnings.shift()!);
      if (current && compareLabels(current.labels, head.labels) === 0) {
        parts.push(head.chunks);
      } else {
        if (current) {
          yield seriesFrame(flush());
          if (++emitted >= limit) return;
        }
        current = head;
        parts = [head.chunks];
      }
      await advance(reader, rank);
    }
    if (current && emitted < limit) yield seriesFrame(flush());
    while (warnings.length > 0) yield warningFrame(warnings.shift()!);
  } finally {
    ac.abort(new Error("fan-out finished"));
    for (const r of readers) r.cancel();
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** The merged result of a fan-out, collected (what the querier's PromQL select needs). */
export interface CollectedSeries {
  readonly series: Series[];
  readonly warnings: string[];
}

/** Drains a fan-out stream into series and warnings. */
export async function collectSeries(stream: AsyncIterable<SeriesResponse>): Promise<CollectedSeries> {
  const series: Series[] = [];
  const warnings: string[] = [];
  for await (const f of stream) {
    if (f.result.case === "series") series.push(f.result.value);
    else if (f.result.case === "batch") series.push(...f.result.value.series);
    else if (f.result.case === "warning") warnings.push(f.result.value);
  }
  return { series, warnings };
}
