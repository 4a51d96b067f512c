/**
 * `meridian demo` (what `npm start` runs): writes 24 hours of synthetic data for two regions (two
 * HA replicas each, down at different times) as TSDB blocks into a local filesystem bucket, serves
 * it with a store gateway over native gRPC on loopback, and a querier with the UI on
 * `--http-address`, deduplicating on `replica`. When a Prometheus answers at `--prometheus.url`
 * (default localhost:9090) it also starts a sidecar for it. Everything real, nothing to install.
 */
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import process from "node:process";
import { demoBlocks, demoReplicas, regionSeries, scrapeTimes } from "../../demo/demo-data.ts";
import type { Bucket } from "../../objstore/bucket.ts";
import { createEndpointSet } from "../../query/endpoint-set.ts";
import { createQueryComponent } from "../../query/query-component.ts";
import { createStoreClient } from "../../query/store-client.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createSidecar, type Sidecar } from "../../sidecar/sidecar.ts";
import { createBucketStore } from "../../store/bucket-store.ts";
import type { WrittenBlock } from "../../tsdb/block-writer.ts";
import type { FlagValues } from "../flags.ts";
import { createFilesystemBucket } from "./filesystem-bucket.ts";
import { loadWasm } from "./load-wasm.ts";
import { createLogger, type Logger } from "../logger.ts";
import { startGrpcServer, startHttpServer, type RunningServer } from "./serve.ts";
import { createNodeTransportFactory } from "./store-transport.ts";

const HOURS = 24;

async function uploadBlock(bucket: Bucket, block: WrittenBlock): Promise<void> {
  // meta.json last: a block without it is a partial upload that readers skip.
  for (const [rel, body] of block.files) if (rel !== "meta.json") await bucket.upload(`${block.ulid}/${rel}`, body);
  await bucket.upload(`${block.ulid}/meta.json`, block.files.get("meta.json")!);
}

/** Starts a sidecar for the Prometheus at `url` when one answers there; undefined otherwise. */
async function maybeSidecar(url: string, log: Logger): Promise<{ sidecar: Sidecar; grpc: RunningServer } | undefined> {
  try {
    const res = await fetch(new URL("/api/v1/status/config", url), { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return undefined;
  } catch {
    log("info", `no Prometheus at ${url}; not starting a sidecar`);
    return undefined;
  }
  const sidecar = createSidecar({ prometheusUrl: url, metrics: createMetricsRegistry(), log: (lvl, msg) => log(lvl, `sidecar: ${msg}`) });
  try {
    await Promise.race([sidecar.start(), new Promise((_, reject) => setTimeout(() => reject(new Error("Prometheus did not become ready in 10 s")), 10_000))]);
  } catch (err) {
    log("warn", `Prometheus found at ${url}, but no sidecar for it: ${(err as Error).message}`);
    await sidecar.stop();
    return undefined;
  }
  const grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: sidecar.storeApi, ready: sidecar.ready });
  log("info", `sidecar for ${url} on 127.0.0.1:${grpc.port}`);
  return { sidecar, grpc };
}

/** A running demo. */
export interface RunningDemo {
  /** Base URL of the querier (UI and API). */
  readonly url: string;
  /** True when a sidecar for a local Prometheus joined. */
  readonly withSidecar: boolean;
  /** Stops every server and the sidecar. */
  close(): Promise<void>;
}

/** Starts the demo and resolves once the querier answers. */
export async function startDemo(flags: FlagValues): Promise<RunningDemo> {
  const log = createLogger("demo", String(flags["log.level"] ?? "info"));
  const dataDir = resolve(String(flags["data-dir"] ?? "./data/demo"));
  const httpAddress = String(flags["http-address"] ?? "localhost:10902");
  const wasm = await loadWasm();

  // Fresh data relative to now on every start.
  const bucketDir = join(dataDir, "bucket");
  await rm(bucketDir, { recursive: true, force: true });
  await rm(join(dataDir, "cache"), { recursive: true, force: true });
  const bucket = createFilesystemBucket(bucketDir);
  const now = Date.now();
  const times = scrapeTimes(now - HOURS * 3600_000, now);
  const replicas = demoReplicas(now);
  let blocks = 0;
  let seriesCount = 0;
  for (const region of [...new Set(replicas.map((r) => r.region))]) {
    const series = regionSeries(region, times);
    seriesCount += series.length;
    for (const rep of replicas.filter((r) => r.region === region)) {
      for (const b of demoBlocks(rep, times, series)) {
        await uploadBlock(bucket, b);
        blocks++;
      }
    }
  }
  log("info", `wrote ${blocks} blocks: ${seriesCount} series x 2 replicas over the last ${HOURS} h into ${bucketDir}`);

  const store = createBucketStore({ bucket, headerCache: createFilesystemBucket(join(dataDir, "cache")), metrics: createMetricsRegistry(), wasm });
  await store.sync();
  const storeGrpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store.storeApi, ready: store.ready });
  log("info", `store gateway on 127.0.0.1:${storeGrpc.port}`);
  const side = await maybeSidecar(String(flags["prometheus.url"] ?? "http://localhost:9090"), log);

  const transportFactory = createNodeTransportFactory();
  const endpointSet = createEndpointSet({
    staticEndpoints: [{ address: `127.0.0.1:${storeGrpc.port}` }, ...(side ? [{ address: `127.0.0.1:${side.grpc.port}` }] : [])],
    clientFactory: (spec) => createStoreClient(spec.address, { transportFactory }),
  });
  endpointSet.start();
  await endpointSet.firstProbe;
  const shutdown = new AbortController();
  const query = createQueryComponent({
    endpoints: endpointSet,
    wasm,
    metrics: createMetricsRegistry(),
    replicaLabels: ["replica"],
    shutdownSignal: shutdown.signal,
    flags: { "query.replica-label": "replica", "http-address": httpAddress },
  });
  const http = await startHttpServer({ address: httpAddress, fetch: query.app.fetch });
  const host = httpAddress.split(":")[0] || "localhost";
  const base = `http://${host === "0.0.0.0" || host === "" ? "localhost" : host}:${http.port}`;
  return {
    url: base,
    withSidecar: side !== undefined,
    async close() {
      shutdown.abort();
      endpointSet.close();
      await http.close(2000);
      await storeGrpc.close(2000);
      if (side) {
        await side.sidecar.stop();
        await side.grpc.close(2000);
      }
    },
  };
}

/** Runs the demo until SIGINT/SIGTERM (the `meridian demo` command). */
export async function runDemo(flags: FlagValues): Promise<number> {
  const demo = await startDemo(flags);
  const base = demo.url;
  const example = encodeURIComponent("sum by (region, code) (rate(http_requests_total[5m]))");
  console.log(
    [
      "",
      `Meridian demo is up: a global view over 2 regions x 2 HA replicas${demo.withSidecar ? " and your local Prometheus" : ""}, deduplicated on "replica".`,
      `  UI:        ${base}/`,
      `  Try:       ${base}/#/graph?expr=${example}&tab=graph&range=6h`,
      `  Stores:    ${base}/#/stores`,
      `  API:       curl '${base}/api/v1/query?query=count(up)'`,
      `  Grafana:   add a Prometheus data source with URL ${base}`,
      "Press Ctrl+C to stop.",
      "",
    ].join("\n"),
  );
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  console.error("shutting down");
  await demo.close();
  return 0;
}

export default runDemo;
