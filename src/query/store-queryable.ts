/**
 * The querier's PromQL storage: a Queryable whose selects become StoreAPI Series calls fanned out
 * to the endpoints, whose chunks are decoded in WASM and whose HA replicas are merged by penalty
 * deduplication. This is the glue between the engine (src/promql) and the fan-out (fanout*.ts).
 */
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { LabelNamesRequestSchema, LabelValuesRequestSchema, SeriesRequestSchema, QueryHintsSchema, FuncSchema, GroupingSchema, RangeSchema } from "../gen/store/storepb/rpc_pb.ts";
import type { SeriesRequest, SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { Chunk_Encoding, PartialResponseStrategy } from "../gen/store/storepb/types_pb.ts";
import type { AggrChunk, Series } from "../gen/store/storepb/types_pb.ts";
import type { Matcher } from "../model/matcher.ts";
import type { FloatSeries } from "../model/series.ts";
import type { Querier, Queryable, SelectHints, SelectResult } from "../promql/storage.ts";
import { labelsFromProto, matchersToProto } from "../server/store-api-convert.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { xorChunkSampleCount } from "../wasm/xor.ts";
import { decodeDedupXorPairsLazy, decodeDedupXorSeries, type TimedRun } from "./dedup-xor.ts";

const chunksOf = (runs: readonly TimedRun[]): (readonly Uint8Array[])[] => runs.map((r) => r.chunks);
import { StoreQueryError, UnsupportedDataError } from "./errors.ts";
import { collectSeries } from "./fanout.ts";
import type { FanoutStoreApi } from "./fanout-store-api.ts";
import { splitReplicaRuns } from "./replica-split.ts";

/** Functions whose inputs are counters: dedup adjusts for resets on a replica switch (Thanos). */
const COUNTER_FUNCS = new Set(["rate", "increase", "irate", "resets"]);

/** What one request wants from the stores (the Thanos HTTP parameters, resolved). */
export interface StoreQueryOptions {
  readonly dedup: boolean;
  readonly replicaLabels: readonly string[];
  readonly partialResponse: boolean;
  readonly storeMatchers?: readonly (readonly Matcher[])[];
  /** Tenant forwarded to every store (`thanos-tenant`). */
  readonly tenant?: string;
  /** `--deduplication.func`: penalty (default, Thanos' HA algorithm) or chain (plain merge). */
  readonly dedupFunc?: "penalty" | "chain";
}

function int64(ms: number): bigint {
  if (ms <= -9.2e18) return -(2n ** 63n);
  if (ms >= 9.2e18) return 2n ** 63n - 1n;
  return BigInt(Math.trunc(ms));
}

/** Builds the SeriesRequest for one select, with the engine's hints passed on as Thanos query hints. */
export function seriesRequestFor(matchers: readonly Matcher[], hints: SelectHints, opts: StoreQueryOptions): SeriesRequest {
  return create(SeriesRequestSchema, {
    minTime: int64(hints.start),
    maxTime: int64(hints.end),
    matchers: matchersToProto(matchers),
    partialResponseStrategy: opts.partialResponse ? PartialResponseStrategy.WARN : PartialResponseStrategy.ABORT,
    partialResponseDisabled: !opts.partialResponse,
    skipChunks: hints.func === "series",
    withoutReplicaLabels: opts.dedup ? [...opts.replicaLabels] : [],
    step: BigInt(Math.trunc(hints.step)),
    range: BigInt(Math.trunc(hints.range)),
    queryHints: create(QueryHintsSchema, {
      stepMillis: BigInt(Math.trunc(hints.step)),
      ...(hints.func ? { func: create(FuncSchema, { name: hints.func }) } : {}),
      ...(hints.grouping ? { grouping: create(GroupingSchema, { by: hints.by ?? false, labels: [...hints.grouping] }) } : {}),
      ...(hints.range ? { range: create(RangeSchema, { millis: BigInt(Math.trunc(hints.range)) }) } : {}),
    }),
  });
}

function checkRaw(c: AggrChunk): Uint8Array {
  const raw = c.raw;
  if (!raw) throw new UnsupportedDataError("downsampled (aggregated) chunks are not supported yet; query raw resolution");
  if (raw.type !== Chunk_Encoding.XOR) {
    throw new UnsupportedDataError(`native histogram chunks (encoding ${Chunk_Encoding[raw.type]}) are not supported yet`);
  }
  return raw.data;
}

// Chunk times of the series being split (reused: one series at a time).
let minScratch = new Float64Array(256);
let maxScratch = new Float64Array(256);

/**
 * A series' XOR chunks split into replica runs (bytes plus min/max times), exactly as
 * {@link splitReplicaRuns} splits them, without an object per chunk: chunks usually arrive sorted by (min, max) time (stores send
 * them so and the fan-out merges in order), so the sort is skipped when it would not move anything.
 */
export function replicaRunsOf(s: Series): TimedRun[] {
  const chunks = s.chunks;
  const n = chunks.length;
  if (minScratch.length < n) {
    minScratch = new Float64Array(Math.max(n, 2 * minScratch.length));
    maxScratch = new Float64Array(minScratch.length);
  }
  const mins = minScratch;
  const maxs = maxScratch;
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const c = chunks[i]!;
    checkRaw(c);
    const mn = Number(c.minTime);
    const mx = Number(c.maxTime);
    mins[i] = mn;
    maxs[i] = mx;
    if (i > 0 && (mn < mins[i - 1]! || (mn === mins[i - 1]! && mx < maxs[i - 1]!))) sorted = false;
  }
  if (!sorted) {
    return splitReplicaRuns(chunks.map((c) => ({ minTime: Number(c.minTime), maxTime: Number(c.maxTime), data: c.raw!.data }))).map((run) => ({
      chunks: run.map((c) => c.data),
      minT: run.map((c) => c.minTime),
      maxT: run.map((c) => c.maxTime),
    }));
  }
  const runs: { chunks: Uint8Array[]; minT: number[]; maxT: number[] }[] = [];
  for (let i = 0; i < n; i++) {
    const mn = mins[i]!;
    let r = 0;
    while (r < runs.length && !(runs[r]!.maxT[runs[r]!.maxT.length - 1]! < mn)) r++;
    if (r === runs.length) runs.push({ chunks: [], minT: [], maxT: [] });
    const run = runs[r]!;
    run.chunks.push(chunks[i]!.raw!.data);
    run.minT.push(mn);
    run.maxT.push(maxs[i]!);
  }
  return runs;
}

/**
 * Turns merged StoreAPI series into decoded FloatSeries: every series' chunks are split into
 * replica runs, all runs are decoded in one WASM batch, and series with several runs are merged by
 * penalty dedup, or by chain merge (when dedup is off several runs only come from overlapping blocks).
 */
export function decodeAndDedup(wasm: MeridianWasm, series: readonly Series[], hints: SelectHints, mode: "penalty" | "chain"): FloatSeries[] {
  const replicas = series.map(replicaRunsOf);
  const opts = { mode, counter: COUNTER_FUNCS.has(hints.func), mint: hints.start, maxt: hints.end };
  // HA pairs under penalty dedup: decode only the chunks the deduplication reads (dedup-lazy).
  const lazy = mode === "penalty" && replicas.every((r) => r.length <= 2);
  const out: FloatSeries[] = [];
  // Batches of series whose decoded samples fit in the CPU cache: each batch is decoded and
  // deduplicated (two WASM calls) and copied out while its samples are still cached, instead of
  // streaming every sample of the select through main memory three times.
  for (let i = 0; i < replicas.length;) {
    let j = i;
    let samples = 0;
    while (j < replicas.length && (j === i || samples < DECODE_BATCH_SAMPLES)) {
      for (const run of replicas[j]!) for (const c of run.chunks) samples += xorChunkSampleCount(c);
      j++;
    }
    const batch = i === 0 && j === replicas.length ? replicas : replicas.slice(i, j);
    const merged = (lazy ? decodeDedupXorPairsLazy(wasm, batch, opts) : undefined) ?? decodeDedupXorSeries(wasm, batch.map(chunksOf), opts);
    for (let k = i; k < j; k++) out.push({ labels: labelsFromProto(series[k]!.labels), t: merged[k - i]!.t, v: merged[k - i]!.v });
    i = j;
  }
  return out;
}

/**
 * Input samples (both replicas) decoded per WASM batch: ~16 B per sample decoded plus ~8 B per
 * sample deduplicated keeps a batch's working set (~0.8 MB) inside a core's L2 cache.
 */
const DECODE_BATCH_SAMPLES = 32_768;

/** Samples a series' chunks announce (both replicas), for batching. */
function announcedSamples(s: Series): number {
  let n = 0;
  for (const c of s.chunks) {
    const d = c.raw?.data;
    if (d) n += xorChunkSampleCount(d);
  }
  return n;
}

/**
 * Decodes and deduplicates a merged Series stream (the fan-out's output) while it arrives: every
 * batch of `batchSamples` samples (default {@link DECODE_BATCH_SAMPLES}) is decoded as soon as the
 * fan-out has merged it, so the querier's WASM work overlaps with the stores' streaming, and each
 * batch's Series objects and frame bytes die young (instead of the whole response being held
 * until the last frame). Returns the series in stream order and the stream's warnings.
 */
export async function decodeSeriesStream(
  wasm: MeridianWasm, stream: AsyncIterable<SeriesResponse>, hints: SelectHints, mode: "penalty" | "chain", batchSamples = DECODE_BATCH_SAMPLES,
): Promise<SelectResult> {
  const series: FloatSeries[] = [];
  const warnings: string[] = [];
  let pending: Series[] = [];
  let pendingSamples = 0;
  const add = (s: Series): void => {
    pending.push(s);
    pendingSamples += announcedSamples(s);
    if (pendingSamples < batchSamples) return;
    for (const f of decodeAndDedup(wasm, pending, hints, mode)) series.push(f);
    pending = [];
    pendingSamples = 0;
  };
  for await (const f of stream) {
    const r = f.result;
    if (r.case === "series") add(r.value);
    else if (r.case === "batch") for (const s of r.value.series) add(s);
    else if (r.case === "warning") warnings.push(r.value);
  }
  if (pending.length > 0) for (const f of decodeAndDedup(wasm, pending, hints, mode)) series.push(f);
  return { series, warnings };
}

/** Options of {@link createStoreQueryable}. */
export interface StoreQueryableOptions {
  readonly stores: FanoutStoreApi;
  readonly wasm: MeridianWasm;
  readonly request: StoreQueryOptions;
}

function wrapStoreError(err: unknown): never {
  if (err instanceof ConnectError) throw new StoreQueryError(err.rawMessage);
  throw err;
}

/** A Queryable over the fan-out StoreAPI for one request's options. */
export function createStoreQueryable(opts: StoreQueryableOptions): Queryable {
  const { stores, wasm, request } = opts;
  const call = (signal?: AbortSignal) => ({
    ...(request.storeMatchers ? { storeMatchers: request.storeMatchers } : {}),
    ...(signal ? { signal } : {}),
    ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
  });
  const querier: Querier = {
    async select(matchers, hints, signal): Promise<SelectResult> {
      const req = seriesRequestFor(matchers, hints, request);
      const stream = stores.seriesWith(req, call(signal));
      if (req.skipChunks) {
        const collected = await collectSeries(stream).catch(wrapStoreError);
        const series = collected.series.map((s) => ({ labels: labelsFromProto(s.labels), t: new Float64Array(0), v: new Float64Array(0) }));
        return { series, warnings: collected.warnings };
      }
      return decodeSeriesStream(wasm, stream, hints, request.dedup ? (request.dedupFunc ?? "penalty") : "chain").catch(wrapStoreError);
    },
    async labelNames(matchers, start, end, signal) {
      const res = await stores
        .labelNamesWith(
          create(LabelNamesRequestSchema, {
            start: int64(start),
            end: int64(end),
            matchers: matchersToProto(matchers),
            partialResponseDisabled: !request.partialResponse,
            partialResponseStrategy: request.partialResponse ? PartialResponseStrategy.WARN : PartialResponseStrategy.ABORT,
            withoutReplicaLabels: request.dedup ? [...request.replicaLabels] : [],
          }),
          call(signal),
        )
        .catch(wrapStoreError);
      const hidden = new Set(request.dedup ? request.replicaLabels : []);
      return { names: res.names.filter((n) => !hidden.has(n)), warnings: res.warnings };
    },
    async labelValues(name, matchers, start, end, signal) {
      const res = await stores
        .labelValuesWith(
          create(LabelValuesRequestSchema, {
            label: name,
            start: int64(start),
            end: int64(end),
            matchers: matchersToProto(matchers),
            partialResponseDisabled: !request.partialResponse,
            partialResponseStrategy: request.partialResponse ? PartialResponseStrategy.WARN : PartialResponseStrategy.ABORT,
          }),
          call(signal),
        )
        .catch(wrapStoreError);
      return { values: res.values, warnings: res.warnings };
    },
  };
  return { querier: () => querier };
}
