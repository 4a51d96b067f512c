/**
 * Test setup for querier suites: store gateways over buckets served on loopback native gRPC, and
 * queriers (Prometheus HTTP API on a real loopback port, optionally their own StoreAPI over gRPC so
 * another querier can use them as an endpoint). Stores can be wrapped (to stall or fail) and stopped.
 */
import type { Bucket } from "../../src/objstore/bucket.ts";
import { createMemoryBucket } from "../../src/objstore/memory-bucket.ts";
import type { EndpointSpec } from "../../src/query/endpoint-config.ts";
import { createEndpointSet, type EndpointSet } from "../../src/query/endpoint-set.ts";
import { createQueryComponent, type QueryComponent, type QueryComponentOptions } from "../../src/query/query-component.ts";
import { createStoreClient } from "../../src/query/store-client.ts";
import { createMetricsRegistry } from "../../src/server/metrics.ts";
import type { StoreApi } from "../../src/server/store-api.ts";
import { createBucketStore } from "../../src/store/bucket-store.ts";
import type { WrittenBlock } from "../../src/tsdb/block-writer.ts";
import { watchEndpointSdFile } from "../../src/runtime/node/endpoint-sd-file.ts";
import { loadWasm } from "../../src/runtime/node/load-wasm.ts";
import { startGrpcServer, startHttpServer, type RunningServer } from "../../src/runtime/node/serve.ts";
import { createNodeTransportFactory } from "../../src/runtime/node/store-transport.ts";

/** Uploads a written block the way the shipper does: data first, meta.json last. */
export async function uploadWrittenBlock(bucket: Bucket, block: WrittenBlock): Promise<void> {
  for (const [rel, body] of block.files) if (rel !== "meta.json") await bucket.upload(`${block.ulid}/${rel}`, body);
  await bucket.upload(`${block.ulid}/meta.json`, block.files.get("meta.json")!);
}

/** A bucket holding `blocks` (in memory). */
export async function memoryBucketWith(name: string, blocks: readonly WrittenBlock[]): Promise<Bucket> {
  const bucket = createMemoryBucket(name);
  for (const b of blocks) await uploadWrittenBlock(bucket, b);
  return bucket;
}

/** A store gateway listening on loopback gRPC. */
export interface TestStore {
  readonly address: string;
  readonly storeApi: StoreApi;
  /** Stops the gRPC listener (the store is then unreachable, as a crashed process). */
  stop(): Promise<void>;
}

/**
 * Starts a store gateway over `bucket` on `127.0.0.1:0`. `wrap` may replace its StoreApi (to make
 * it stall or fail in controlled ways); Info stays the real one unless the wrapper changes it.
 */
export async function startTestStore(bucket: Bucket, wrap?: (api: StoreApi) => StoreApi): Promise<TestStore> {
  const wasm = await loadWasm();
  const store = createBucketStore({ bucket, metrics: createMetricsRegistry(), wasm });
  await store.sync();
  const storeApi = wrap ? wrap(store.storeApi) : store.storeApi;
  const grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi, ready: store.ready });
  let stopped = false;
  return {
    address: `127.0.0.1:${grpc.port}`,
    storeApi,
    async stop() {
      if (stopped) return;
      stopped = true;
      await grpc.close(200);
    },
  };
}

/** A querier with its HTTP API (and optionally its StoreAPI) on loopback ports. */
export interface TestQuerier {
  readonly query: QueryComponent;
  readonly endpoints: EndpointSet;
  /** `http://127.0.0.1:port` of the Prometheus HTTP API. */
  readonly url: string;
  /** `127.0.0.1:port` of the querier's StoreAPI over gRPC, when `grpc` was asked for. */
  readonly grpcAddress: string | undefined;
  /** GET/POST through the real HTTP listener; body as text. */
  request(path: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }>;
  close(): Promise<void>;
}

/** Options of {@link startTestQuerier}. */
export interface TestQuerierOptions extends Partial<Omit<QueryComponentOptions, "endpoints" | "wasm" | "metrics">> {
  /** Also serve the querier's StoreAPI over native gRPC (for querier-of-queriers setups). */
  readonly grpc?: boolean;
  /** Endpoint probe interval (default 5000 ms as Thanos). */
  readonly probeIntervalMs?: number;
  /** Info deadline per probe (default 5000 ms). */
  readonly infoTimeoutMs?: number;
  /** `--endpoint.sd-config-file`: watched with the Node adapter, polled every 50 ms. */
  readonly sdFile?: string;
}

/** Starts a querier over `endpoints` (addresses or specs) and waits for the first probe round. */
export async function startTestQuerier(endpoints: readonly (string | EndpointSpec)[], opts: TestQuerierOptions = {}): Promise<TestQuerier> {
  const wasm = await loadWasm();
  const transportFactory = createNodeTransportFactory();
  const { grpc: withGrpc, probeIntervalMs, infoTimeoutMs, sdFile, ...componentOpts } = opts;
  const set = createEndpointSet({
    staticEndpoints: endpoints.map((e) => (typeof e === "string" ? { address: e } : e)),
    clientFactory: (spec) => createStoreClient(spec.address, { transportFactory }),
    ...(probeIntervalMs !== undefined ? { probeIntervalMs } : {}),
    ...(infoTimeoutMs !== undefined ? { infoTimeoutMs } : {}),
  });
  const sd = sdFile === undefined ? undefined : await watchEndpointSdFile(sdFile, (specs) => set.setDynamic(specs), { pollIntervalMs: 50 });
  set.start();
  await set.firstProbe;
  const query = createQueryComponent({ endpoints: set, wasm, metrics: createMetricsRegistry(), ...componentOpts });
  const http = await startHttpServer({ address: "127.0.0.1:0", fetch: query.app.fetch });
  let grpc: RunningServer | undefined;
  if (withGrpc) grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: query.storeApi, ready: query.ready });
  const url = `http://127.0.0.1:${http.port}`;
  return {
    query,
    endpoints: set,
    url,
    grpcAddress: grpc ? `127.0.0.1:${grpc.port}` : undefined,
    async request(path, init) {
      const res = await fetch(`${url}${path}`, init);
      return { status: res.status, text: await res.text(), headers: res.headers };
    },
    async close() {
      sd?.close();
      set.close();
      await Promise.all([http.close(500), grpc?.close(500)]);
    },
  };
}

/** Waits (polling every 20 ms, up to `timeoutMs`) until `cond` holds; throws with `what` otherwise. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A form-encoded POST body for the API (what Grafana sends). */
export function formPost(params: Record<string, string | string[]>): RequestInit {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  return { method: "POST", body: body.toString(), headers: { "content-type": "application/x-www-form-urlencoded" } };
}
