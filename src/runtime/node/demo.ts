/**
 * `meridian demo` (what `npm start` runs): writes six hours of synthetic HA data for two regions
 * (two replicas each, down at different times) as TSDB blocks into a local filesystem bucket per
 * region, serves each bucket with a store gateway over native gRPC on loopback, and a querier with
 * the UI on `--http-address` deduplicating on `replica`. Everything real, nothing to install.
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
import { createBucketStore } from "../../store/bucket-store.ts";
import type { FlagValues } from "../flags.ts";
import { createFilesystemBucket } from "./filesystem-bucket.ts";
import { loadWasm } from "./load-wasm.ts";
import { createLogger } from "./logger.ts";
import { startGrpcServer, startHttpServer, type RunningServer } from "./serve.ts";
import { createNodeTransportFactory } from "./store-transport.ts";

const HOURS = 6;

async function uploadBlock(bucket: Bucket, ulid: string, files: Map<string, Uint8Array>): Promise<void> {
  // meta.json last: a block without it is a partial upload that readers skip.
  for (const [rel, body] of files) if (rel !== "meta.json") await bucket.upload(`${ulid}/${rel}`, body);
  await bucket.upload(`${ulid}/meta.json`, files.get("meta.json")!);
}

/** Runs the demo until SIGINT/SIGTERM. */
export async function runDemo(flags: FlagValues): Promise<number> {
  const log = createLogger("demo", "info");
  const dataDir = resolve(String(flags["data-dir"] ?? "./data/demo"));
  const wasm = await loadWasm();
  const now = Date.now();
  const times = scrapeTimes(now - HOURS * 3600_000, now);
  const replicas = demoReplicas(now, HOURS);
  const regions = [...new Set(replicas.map((r) => r.region))];

  const servers: RunningServer[] = [];
  const endpoints: string[] = [];
  for (const region of regions) {
    const bucketDir = join(dataDir, "bucket", region);
    await rm(bucketDir, { recursive: true, force: true }); // fresh data relative to now on each start
    await rm(join(dataDir, "cache", region), { recursive: true, force: true });
    const bucket = createFilesystemBucket(bucketDir);
    const series = regionSeries(region, times);
    let blocks = 0;
    for (const rep of replicas.filter((r) => r.region === region)) {
      for (const b of demoBlocks(rep, times, series)) {
        await uploadBlock(bucket, b.ulid, b.files);
        blocks++;
      }
    }
    const store = createBucketStore({ bucket, headerCache: createFilesystemBucket(join(dataDir, "cache", region)), metrics: createMetricsRegistry(), wasm });
    await store.sync();
    const grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store.storeApi, ready: store.ready });
    servers.push(grpc);
    endpoints.push(`127.0.0.1:${grpc.port}`);
    log("info", `region ${region}: ${blocks} blocks (2 replicas, ${series.length} series each) in ${bucketDir}, store gateway on 127.0.0.1:${grpc.port}`);
  }

  const transportFactory = createNodeTransportFactory();
  const endpointSet = createEndpointSet({
    staticEndpoints: endpoints.map((address) => ({ address })),
    clientFactory: (spec) => createStoreClient(spec.address, { transportFactory }),
    probeIntervalMs: 5000,
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
    flags: { "query.replica-label": "replica", "http-address": String(flags["http-address"]) },
  });
  const http = await startHttpServer({ address: String(flags["http-address"] ?? "localhost:10902"), fetch: query.app.fetch });
  const host = String(flags["http-address"] ?? "localhost:10902").split(":")[0] || "localhost";
  const base = `http://${host === "0.0.0.0" ? "localhost" : host}:${http.port}`;
  const example = encodeURIComponent("sum by (region, code) (rate(http_requests_total[5m]))");
  console.log(
    [
      "",
      `Meridian demo is up: a global view over 2 regions x 2 HA replicas, deduplicated on "replica".`,
      `  UI:        ${base}/#/graph?expr=${example}&tab=graph&range=6h`,
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
  shutdown.abort();
  endpointSet.close();
  await http.close(2000);
  await Promise.all(servers.map((s) => s.close(2000)));
  return 0;
}

export default runDemo;
