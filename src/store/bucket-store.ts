/**
 * The store gateway (`meridian store`): serves the StoreAPI over the TSDB blocks in a bucket,
 * reading only the index-header eagerly and everything else by range. Runtime-neutral: the Node
 * runner adds listeners, the data-dir cache and the sync timer; an edge runtime can use it as is.
 */
import { create } from "@bufbuild/protobuf";
import { anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { InfoResponseSchema, type InfoResponse } from "../gen/info/infopb/rpc_pb.ts";
import { SeriesRequestHintsSchema, SeriesResponseHintsSchema } from "../gen/store/hintspb/hints_pb.ts";
import type { SeriesRequest, SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { PartialResponseStrategy } from "../gen/store/storepb/types_pb.ts";
import { compareLabels, type Labels } from "../model/labels.ts";
import type { Bucket } from "../objstore/bucket.ts";
import type { MetricsRegistry } from "../server/metrics.ts";
import { labelsToProto, matchersFromProto } from "../server/store-api-convert.ts";
import type { StoreApi } from "../server/store-api.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { loadBucketBlock } from "./bucket-block.ts";
import { blockSeries, type ShardSelector, type StoreSeries } from "./block-series.ts";
import { createBlockSyncer, type SyncResult } from "./block-sync.ts";
import { createIndexCache } from "./index-cache.ts";
import { createLabelApis } from "./label-apis.ts";
import { createGate, createRequestLimiter } from "./limiter.ts";
import { mergeSeries, type SeriesBatches } from "./merge.ts";
import { failedBlocksFor, selectBlocks } from "./select-blocks.ts";
import { createChunkReadLease } from "./chunk-read-pool.ts";
import { createStoreFrameBuilder } from "./series-frames.ts";
import { createStoreMetrics } from "./store-metrics.ts";

/** Options for {@link createBucketStore}. */
export interface BucketStoreOptions {
  readonly bucket: Bucket;
  /** Local index-header cache (filesystem bucket over `--data-dir`); optional on edge runtimes. */
  readonly headerCache?: Bucket;
  readonly metrics: MetricsRegistry;
  /** `--index-cache-size` in bytes (default 250 MiB). */
  readonly indexCacheBytes?: number;
  /** `--store.limits.request-series` / `--store.limits.request-samples`; 0 = unlimited. */
  readonly seriesLimit?: number;
  readonly samplesLimit?: number;
  /** `--store.grpc.series-max-concurrency` (default 20). */
  readonly seriesConcurrency?: number;
  /** Block sync/load parallelism (default 20). */
  readonly syncConcurrency?: number;
  /** Merge gap for range reads (default: the TSDB reader's, 512 KiB). */
  readonly maxGap?: number;
  /** Series per index/chunk batch (default 1024). */
  readonly batchSize?: number;
  /** For re-encoding tombstoned chunks (default: the registered module). */
  readonly wasm?: MeridianWasm;
  readonly log?: (level: "debug" | "info" | "warn" | "error", msg: string) => void;
}

/** A running store gateway. */
export interface BucketStore {
  readonly storeApi: StoreApi;
  /** One sync with the bucket (also run periodically by the runner). */
  sync(): Promise<SyncResult>;
  /** True once a sync has succeeded. */
  ready(): boolean;
  /** IDs of the blocks currently served. */
  blockIds(): string[];
}

function clampTime(v: bigint): number {
  const n = Number(v);
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}

/** Creates the store over `bucket`. Call {@link BucketStore.sync} before expecting data. */
export function createBucketStore(opts: BucketStoreOptions): BucketStore {
  const m = createStoreMetrics(opts.metrics);
  const log = opts.log ?? (() => {});
  const cache = createIndexCache(opts.indexCacheBytes ?? 250 * 1024 * 1024, {
    onRequest: (type, n) => m.cacheRequests.inc({ item_type: type }, n),
    onHit: (type, n) => m.cacheHits.inc({ item_type: type }, n),
  });
  const gate = createGate(opts.seriesConcurrency ?? 20);
  const batchSize = opts.batchSize ?? 1024;
  const syncer = createBlockSyncer({
    bucket: opts.bucket,
    concurrency: opts.syncConcurrency ?? 20,
    load: async (meta) => {
      m.blockLoads.inc();
      try {
        return await loadBucketBlock({
          bucket: opts.bucket,
          meta,
          cache,
          ...(opts.headerCache ? { headerCache: opts.headerCache } : {}),
          ...(opts.maxGap !== undefined ? { maxGap: opts.maxGap } : {}),
          onFetch: (kind, n) => m.bytesFetched.inc({ data_type: kind }, n),
          onWarning: (msg) => log("warn", msg),
        });
      } catch (err) {
        m.blockLoadFailures.inc();
        throw err;
      }
    },
  });
  let isReady = false;
  opts.metrics.onCollect(() => {
    m.cacheItems.set(cache.items);
    m.cacheBytes.set(cache.size);
    m.seriesInFlight.set(gate.inFlight);
  });

  async function sync(): Promise<SyncResult> {
    const t0 = performance.now();
    m.syncs.inc();
    let r: SyncResult;
    try {
      r = await syncer.sync();
    } catch (err) {
      m.syncFailures.inc();
      throw err;
    } finally {
      m.syncDuration.observe((performance.now() - t0) / 1000);
    }
    isReady = true;
    m.blockDrops.inc(undefined, r.dropped.length);
    m.blocksLoaded.set(r.total);
    m.metaSynced.set(r.total, { state: "loaded" });
    m.metaSynced.set(r.failed.length, { state: "failed" });
    m.metaSynced.set(r.partial, { state: "partial" });
    m.metaSynced.set(r.markedForDeletion, { state: "marked-for-deletion" });
    m.metaSynced.set(r.downsampled, { state: "downsampled" });
    m.metaSynced.set(r.duplicates, { state: "duplicate" });
    m.indexHeaderBytes.set(syncer.blocks().reduce((n, b) => n + b.indexHeaderSize, 0));
    for (const id of r.loaded) log("info", `loaded block ${id}`);
    for (const id of r.dropped) log("info", `dropped block ${id}`);
    for (const f of r.failed) log("warn", `block ${f.id} not loaded: ${f.error}`);
    if (r.downsampled > 0) log("warn", `${r.downsampled} downsampled blocks are not served (raw resolution only)`);
    return r;
  }

  async function* series(req: SeriesRequest, signal: AbortSignal): AsyncGenerator<SeriesResponse> {
    const matchers = matchersFromProto(req.matchers);
    let blockMatchers = matchersFromProto([]);
    if (req.hints) {
      const h = anyUnpack(req.hints, SeriesRequestHintsSchema);
      if (h) blockMatchers = matchersFromProto(h.blockMatchers);
    }
    const mint = clampTime(req.minTime);
    const maxt = clampTime(req.maxTime);
    if (mint > maxt) throw new ConnectError(`min_time ${mint} is after max_time ${maxt}`, Code.InvalidArgument);
    const partialOk = !req.partialResponseDisabled && req.partialResponseStrategy !== PartialResponseStrategy.ABORT;
    const without = new Set(req.withoutReplicaLabels);
    const batchFrames = req.responseBatchSize > 1n ? Number(req.responseBatchSize) : 1;
    const limit = req.limit > 0n ? Number(req.limit) : Infinity;
    let shard: ShardSelector | undefined;
    if (req.shardInfo && req.shardInfo.totalShards > 1n) {
      shard = { index: Number(req.shardInfo.shardIndex), total: Number(req.shardInfo.totalShards), by: req.shardInfo.by, labels: req.shardInfo.labels };
    }

    const release = await gate.acquire(signal);
    const t0 = performance.now();
    let sent = 0;
    // Chunk reads of this call in pooled memory, given back in `finally`: every frame is built (the
    // chunk bytes copied into it) before then, and nothing else of the call keeps chunk bytes.
    const reads = createChunkReadLease();
    try {
      const limiter = createRequestLimiter(
        { series: opts.seriesLimit ?? 0, samples: opts.samplesLimit ?? 0 },
        (which) => m.queriesDropped.inc({ reason: which }),
      );
      const selected = selectBlocks(syncer.blocks(), mint, maxt, matchers, blockMatchers);
      const warnings: string[] = failedBlocksFor(syncer.failed(), mint, maxt, matchers).map(
        (f) => `block ${f.id} could not be loaded, its data is missing: ${f.error}`,
      );
      if (!partialOk && warnings.length > 0) throw new ConnectError(warnings[0]!, Code.Unavailable);
      const streams: SeriesBatches[] = selected.map(({ block, matchers: bm }) => {
        const it = blockSeries(block, { matchers: bm, mint, maxt, skipChunks: req.skipChunks, without, ...(shard ? { shard } : {}), batchSize, limiter, signal, reads, ...(opts.wasm ? { wasm: opts.wasm } : {}) });
        return guardBlock(block.id, it, partialOk, warnings);
      });

      // Frames are built as wire bytes (series-frames.ts); their decoded form is lazy.
      const frames = createStoreFrameBuilder(batchFrames);
      const flush = function* (): Generator<SeriesResponse> {
        const f = frames.flush();
        if (f) yield f;
      };
      const drainWarnings = function* (): Generator<SeriesResponse> {
        if (warnings.length === 0) return;
        yield* flush();
        for (const w of warnings.splice(0)) yield { $typeName: "thanos.SeriesResponse", result: { case: "warning", value: w } };
      };
      yield* drainWarnings();
      let prev: Labels | undefined;
      for await (const s of mergeSeries(streams)) {
        if (warnings.length > 0) yield* drainWarnings();
        if (sent >= limit) break;
        // The merge emits each label set once, strictly ascending; anything else is a bug here.
        if (prev && compareLabels(prev, s.labels) >= 0) {
          throw new Error(`internal error: series out of order: ${JSON.stringify(s.labels)} after ${JSON.stringify(prev)}`);
        }
        prev = s.labels;
        sent++;
        const f = frames.add(s);
        if (f) yield f;
      }
      yield* drainWarnings();
      yield* flush();
      const hints = create(SeriesResponseHintsSchema, { queriedBlocks: selected.map((s) => ({ id: s.block.id })) });
      yield { $typeName: "thanos.SeriesResponse", result: { case: "hints", value: anyPack(SeriesResponseHintsSchema, hints) } };
    } finally {
      reads.release();
      release();
      m.seriesDuration.observe((performance.now() - t0) / 1000);
      m.seriesReturned.observe(sent);
    }
  }

  /**
   * Turns a failing block into a warning (partial response) or an error naming the block; limit
   * errors and cancellations pass through unchanged.
   */
  async function* guardBlock(id: string, it: AsyncGenerator<StoreSeries[]>, partialOk: boolean, warnings: string[]): AsyncGenerator<StoreSeries[]> {
    try {
      yield* it;
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      if ((err as Error)?.name === "AbortError") throw err;
      const msg = (err as Error)?.message ?? String(err);
      const named = msg.includes(id) ? msg : `block ${id}: ${msg}`;
      log("warn", `series from ${named}`);
      if (!partialOk) throw new ConnectError(named, Code.Internal);
      warnings.push(named);
    }
  }

  const labelApis = createLabelApis({ blocks: () => syncer.blocks(), failed: () => syncer.failed(), batchSize });

  const storeApi: StoreApi = {
    async info(): Promise<InfoResponse> {
      const blocks = syncer.blocks();
      let minTime = Number.MAX_SAFE_INTEGER;
      let maxTime = Number.MIN_SAFE_INTEGER;
      const sets = new Map<string, { labels: Labels; ranges: [number, number][] }>();
      for (const b of blocks) {
        minTime = Math.min(minTime, b.meta.minTime);
        maxTime = Math.max(maxTime, b.meta.maxTime);
        const key = JSON.stringify(b.extLabels);
        let s = sets.get(key);
        if (!s) sets.set(key, (s = { labels: b.extLabels, ranges: [] }));
        s.ranges.push([b.meta.minTime, b.meta.maxTime]);
      }
      const ordered = [...sets.values()].sort((a, b) => compareLabels(a.labels, b.labels));
      const tsdbInfos = ordered.flatMap((s) => mergeRanges(s.ranges).map(([lo, hi]) => ({ labels: { labels: labelsToProto(s.labels) }, minTime: BigInt(lo), maxTime: BigInt(hi) })));
      return create(InfoResponseSchema, {
        labelSets: ordered.filter((s) => s.labels.length > 0).map((s) => ({ labels: labelsToProto(s.labels) })),
        ComponentType: "store",
        store: {
          // No blocks: an empty range, so queriers skip this store (as Thanos reports it).
          minTime: blocks.length > 0 ? BigInt(minTime) : 9223372036854775807n,
          maxTime: blocks.length > 0 ? BigInt(maxTime) : -9223372036854775808n,
          supportsSharding: true,
          supportsWithoutReplicaLabels: true,
          tsdbInfos,
        },
      });
    },
    series,
    labelNames: labelApis.labelNames,
    labelValues: labelApis.labelValues,
  };

  return { storeApi, sync, ready: () => isReady, blockIds: () => syncer.blocks().map((b) => b.id) };
}

/** Merges overlapping or adjacent [min, max) ranges. */
function mergeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}
