/**
 * `meridian store` on Node: the store gateway over the bucket from `--objstore.config-file` /
 * `--objstore.config`, with index-headers cached under `--data-dir`, the StoreAPI on native gRPC
 * (`--grpc-address`) and Connect/gRPC-Web plus probes and `/metrics` (`--http-address`). Ready after
 * the first successful sync (retried until it succeeds); re-syncs every `--sync-block-duration`.
 */
import { resolve } from "node:path";
import process from "node:process";
import type { MeridianWasm } from "../../wasm/module.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createBucketStore } from "../../store/bucket-store.ts";
import { startSyncLoop } from "../../store/sync-loop.ts";
import type { FlagValues } from "../flags.ts";
import { createLogger } from "../logger.ts";
import { createFilesystemBucket } from "./filesystem-bucket.ts";
import { loadWasm } from "./load-wasm.ts";
import { openBucketFromFlags } from "./objstore.ts";
import { readBearerToken, startComponentServers } from "./component-servers.ts";

function num(v: FlagValues[string] | undefined, fallback: number): number {
  return typeof v === "number" ? v : fallback;
}

/** Runs the store gateway until SIGINT/SIGTERM; resolves with the exit code. */
export async function runStore(flags: FlagValues): Promise<number> {
  const log = createLogger("store", String(flags["log.level"] ?? "info"));
  const metrics = createMetricsRegistry();
  const bucket = await openBucketFromFlags(flags, (m) => log("warn", m));
  const dataDir = resolve(String(flags["data-dir"] ?? "./data"));
  const headerCache = createFilesystemBucket(dataDir);
  let wasm: MeridianWasm | undefined;
  try {
    wasm = await loadWasm();
  } catch (err) {
    log("warn", `WASM decoder unavailable, chunks with tombstones cannot be served: ${(err as Error).message}`);
  }
  const bearerToken = await readBearerToken(flags);

  const store = createBucketStore({
    bucket,
    headerCache,
    metrics,
    indexCacheBytes: num(flags["index-cache-size"], 250 * 1024 * 1024),
    seriesLimit: num(flags["store.limits.request-series"], 0),
    samplesLimit: num(flags["store.limits.request-samples"], 0),
    seriesConcurrency: num(flags["store.grpc.series-max-concurrency"], 20),
    syncConcurrency: num(flags["block-sync-concurrency"], 20),
    ...(wasm ? { wasm } : {}),
    log,
  });
  metrics.onCollect(() => {
    const mem = process.memoryUsage();
    metrics.gauge("process_resident_memory_bytes", "Resident memory size in bytes.").set(mem.rss);
    metrics.gauge("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.").set(mem.heapUsed);
  });

  const shutdown = new AbortController();
  const { http, grpc } = await startComponentServers(flags, { storeApi: store.storeApi, ready: store.ready, metrics, bearerToken, shutdownSignal: shutdown.signal });
  log("info", `listening: http port ${http.port}, grpc port ${grpc.port}, bucket ${bucket.name}, data dir ${dataDir}`);

  const stopSync = startSyncLoop({ store, headerCache, intervalMs: num(flags["sync-block-duration"], 15 * 60_000), log });

  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  log("info", "shutting down");
  stopSync();
  shutdown.abort();
  await Promise.all([http.close(5000), grpc.close(5000)]);
  await bucket.close();
  return 0;
}

export default runStore;
