/**
 * The store gateway's `/metrics` families, named after Thanos' where one exists so dashboards
 * carry over: blocks loaded, sync outcomes, bytes fetched from the bucket, index cache requests
 * and hits, Series latency, and requests refused by limits.
 */
import type { Counter, Gauge, Histogram, MetricsRegistry } from "../server/metrics.ts";

/** Handles to every store metric. */
export interface StoreMetrics {
  readonly blocksLoaded: Gauge;
  readonly blockLoads: Counter;
  readonly blockLoadFailures: Counter;
  readonly blockDrops: Counter;
  readonly syncs: Counter;
  readonly syncFailures: Counter;
  readonly syncDuration: Histogram;
  /** By `state`: loaded, failed, partial, marked-for-deletion, downsampled, duplicate. */
  readonly metaSynced: Gauge;
  /** By `data_type`: index-header, index, chunks. */
  readonly bytesFetched: Counter;
  /** By `item_type`: Postings, Series. */
  readonly cacheRequests: Counter;
  readonly cacheHits: Counter;
  readonly cacheItems: Gauge;
  readonly cacheBytes: Gauge;
  readonly seriesDuration: Histogram;
  readonly seriesReturned: Histogram;
  /** By `reason`: series, samples. */
  readonly queriesDropped: Counter;
  readonly seriesInFlight: Gauge;
  readonly indexHeaderBytes: Gauge;
}

/** Registers the store metrics in `reg`. */
export function createStoreMetrics(reg: MetricsRegistry): StoreMetrics {
  return {
    blocksLoaded: reg.gauge("thanos_bucket_store_blocks_loaded", "Number of currently loaded blocks."),
    blockLoads: reg.counter("thanos_bucket_store_block_loads_total", "Total number of remote block loading attempts."),
    blockLoadFailures: reg.counter("thanos_bucket_store_block_load_failures_total", "Total number of failed remote block loading attempts."),
    blockDrops: reg.counter("thanos_bucket_store_block_drops_total", "Total number of local blocks that were dropped."),
    syncs: reg.counter("thanos_blocks_meta_syncs_total", "Total blocks metadata synchronization attempts."),
    syncFailures: reg.counter("thanos_blocks_meta_sync_failures_total", "Total blocks metadata synchronization failures."),
    syncDuration: reg.histogram("thanos_blocks_meta_sync_duration_seconds", "Duration of the blocks metadata synchronization in seconds.", [0.01, 1, 10, 100, 300, 600, 1000]),
    metaSynced: reg.gauge("thanos_blocks_meta_synced", "Number of block metadata synced, by state.", ["state"]),
    bytesFetched: reg.counter("thanos_bucket_store_bytes_fetched_total", "Bytes read from the bucket, by data type.", ["data_type"]),
    cacheRequests: reg.counter("thanos_store_index_cache_requests_total", "Total number of items requested from the index cache.", ["item_type"]),
    cacheHits: reg.counter("thanos_store_index_cache_hits_total", "Total number of index cache requests that were hits.", ["item_type"]),
    cacheItems: reg.gauge("thanos_store_index_cache_items", "Current number of items in the index cache."),
    cacheBytes: reg.gauge("thanos_store_index_cache_total_size_bytes", "Current byte size of items in the index cache."),
    seriesDuration: reg.histogram("thanos_bucket_store_series_duration_seconds", "Time taken to answer a Series call.", [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]),
    seriesReturned: reg.histogram("thanos_bucket_store_series_result_series", "Number of series returned by a Series call.", [0, 1, 10, 100, 1000, 10000, 100000, 1000000]),
    queriesDropped: reg.counter("thanos_bucket_store_queries_dropped_total", "Number of queries dropped because a limit was exceeded.", ["reason"]),
    seriesInFlight: reg.gauge("thanos_bucket_store_series_gate_queries_in_flight", "Number of Series calls currently running."),
    indexHeaderBytes: reg.gauge("thanos_bucket_store_index_header_bytes", "Size of the index-headers of loaded blocks (kept on local disk; only a sample of each is resident)."),
  };
}
