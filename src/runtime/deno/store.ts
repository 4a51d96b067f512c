/**
 * `meridian store` on Deno (`deno task store ...`): the runtime-neutral store gateway over the
 * bucket from `--objstore.config-file` / `--objstore.config` (opened through Deno's `node:`
 * compatibility, as the Deno sidecar does), index-headers cached under `--data-dir`, served by
 * `Deno.serve` over Connect and gRPC-Web (no native gRPC on Deno). Ready after the first successful
 * sync, re-synced every `--sync-block-duration`.
 */
import { createComponentApp } from "../../server/app.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createBucketStore } from "../../store/bucket-store.ts";
import { startSyncLoop } from "../../store/sync-loop.ts";
import type { MeridianWasm } from "../../wasm/module.ts";
import type { FlagValues } from "../flags.ts";
import { createLogger } from "../logger.ts";
import { createFilesystemBucket } from "../node/filesystem-bucket.ts";
import { loadWasm } from "../node/load-wasm.ts";
import { openBucketFromFlags } from "../node/objstore.ts";
import { getDeno, splitAddress } from "./deno-api.ts";
import { denoServeTls } from "./serve-tls.ts";


function num(v: FlagValues[string] | undefined, fallback: number): number {
  return typeof v === "number" ? v : fallback;
}

/** Runs the store gateway on Deno until SIGINT/SIGTERM; resolves with the exit code. */
export async function runStoreOnDeno(flags: FlagValues): Promise<number> {
  const deno = getDeno();
  const log = createLogger("store", String(flags["log.level"] ?? "info"));
  const metrics = createMetricsRegistry();
  const bucket = await openBucketFromFlags(flags, (m) => log("warn", m));
  const headerCache = createFilesystemBucket(String(flags["data-dir"] ?? "./data"));
  let wasm: MeridianWasm | undefined;
  try {
    wasm = await loadWasm();
  } catch (err) {
    log("warn", `WASM decoder unavailable, chunks with tombstones cannot be served: ${(err as Error).message}`);
  }
  const bearerFile = flags["http.bearer-token-file"];
  const bearerToken = typeof bearerFile === "string" && bearerFile !== "" ? (await deno.readTextFile(bearerFile)).trim() : undefined;
  const corsOrigin = flags["web.cors-origin"];
  const store = createBucketStore({
    bucket,
    headerCache,
    metrics,
    indexCacheBytes: num(flags["index-cache-size"], 250 * 1024 * 1024),
    seriesLimit: num(flags["store.limits.request-series"], 0),
    samplesLimit: num(flags["store.limits.request-samples"], 0),
    seriesConcurrency: num(flags["store.grpc.series-max-concurrency"], 20),
    ...(wasm ? { wasm } : {}),
    log,
  });
  const shutdown = new AbortController();
  const app = createComponentApp({
    storeApi: store.storeApi,
    ready: store.ready,
    metrics,
    ...(typeof corsOrigin === "string" && corsOrigin !== "" ? { cors: [corsOrigin] } : {}),
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    shutdownSignal: shutdown.signal,
  });
  const { hostname, port } = splitAddress(String(flags["http-address"]));
  const tls = await denoServeTls(deno, flags);
  const server = deno.serve(
    // Deno.serve takes cert/key PEM text for HTTPS (spread, so the local DenoApi type needs no change).
    { hostname, port, ...tls, onListen: (a) => log("info", `listening: ${tls.cert ? "https" : "http"} ${a.hostname}:${a.port} (Connect, gRPC-Web; native gRPC needs the Node runner), bucket ${bucket.name}`) },
    (req) => app.fetch(req),
  );

  const stopSync = startSyncLoop({ store, headerCache, intervalMs: num(flags["sync-block-duration"], 15 * 60_000), log });

  await new Promise<void>((resolve) => {
    const stop = () => {
      deno.removeSignalListener("SIGINT", stop);
      deno.removeSignalListener("SIGTERM", stop);
      resolve();
    };
    deno.addSignalListener("SIGINT", stop);
    deno.addSignalListener("SIGTERM", stop);
  });
  log("info", "shutting down");
  stopSync();
  shutdown.abort();
  await server.shutdown();
  await bucket.close();
  return 0;
}
