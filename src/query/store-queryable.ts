/**
 * The querier's PromQL storage: a Queryable whose selects become StoreAPI Series calls fanned out
 * to the endpoints, whose chunks are decoded in WASM and whose HA replicas are merged by penalty
 * deduplication. This is the glue between the engine (src/promql) and the fan-out (fanout*.ts).
 */
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { LabelNamesRequestSchema, LabelValuesRequestSchema, SeriesRequestSchema, QueryHintsSchema, FuncSchema, GroupingSchema, RangeSchema } from "../gen/store/storepb/rpc_pb.ts";
import type { SeriesRequest } from "../gen/store/storepb/rpc_pb.ts";
import { Chunk_Encoding, PartialResponseStrategy } from "../gen/store/storepb/types_pb.ts";
import type { AggrChunk, Series } from "../gen/store/storepb/types_pb.ts";
import type { Matcher } from "../model/matcher.ts";
import type { FloatSeries } from "../model/series.ts";
import type { Querier, Queryable, SelectHints, SelectResult } from "../promql/storage.ts";
import { labelsFromProto, matchersToProto } from "../server/store-api-convert.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { decodeDedupXorSeries } from "./dedup-xor.ts";
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

function rawChunks(series: Series): AggrChunk[] {
  return series.chunks.filter((c) => {
    const raw = c.raw;
    if (!raw) throw new UnsupportedDataError("downsampled (aggregated) chunks are not supported yet; query raw resolution");
    if (raw.type !== Chunk_Encoding.XOR) {
      throw new UnsupportedDataError(`native histogram chunks (encoding ${Chunk_Encoding[raw.type]}) are not supported yet`);
    }
    return true;
  });
}

/**
 * Turns merged StoreAPI series into decoded FloatSeries: every series' chunks are split into
 * replica runs, all runs are decoded in one WASM batch, and series with several runs are merged by
 * penalty dedup, or by chain merge (when dedup is off several runs only come from overlapping blocks).
 */
export function decodeAndDedup(wasm: MeridianWasm, series: readonly Series[], hints: SelectHints, mode: "penalty" | "chain"): FloatSeries[] {
  const replicas = series.map((s) =>
    splitReplicaRuns(rawChunks(s).map((c) => ({ minTime: Number(c.minTime), maxTime: Number(c.maxTime), data: c.raw!.data }))).map((run) =>
      run.map((c) => c.data),
    ),
  );
  // One WASM call decodes every chunk and merges the replicas of every series.
  const merged = decodeDedupXorSeries(wasm, replicas, { mode, counter: COUNTER_FUNCS.has(hints.func), mint: hints.start, maxt: hints.end });
  return series.map((s, i) => ({ labels: labelsFromProto(s.labels), t: merged[i]!.t, v: merged[i]!.v }));
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
      const collected = await collectSeries(stores.seriesWith(req, call(signal))).catch(wrapStoreError);
      if (req.skipChunks) {
        const series = collected.series.map((s) => ({ labels: labelsFromProto(s.labels), t: new Float64Array(0), v: new Float64Array(0) }));
        return { series, warnings: collected.warnings };
      }
      return { series: decodeAndDedup(wasm, collected.series, hints, request.dedup ? (request.dedupFunc ?? "penalty") : "chain"), warnings: collected.warnings };
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
