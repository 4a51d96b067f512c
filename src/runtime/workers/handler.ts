/**
 * The querier as a Cloudflare Worker: the same runtime-neutral query component the Node runner
 * serves (Prometheus HTTP API, Connect/gRPC-Web StoreAPI, probes, metrics), built once per isolate
 * from the bindings. Remote endpoints are reached over Connect through an outbound-connection
 * limiter (the platform allows 6 per request); an R2 binding adds an in-Worker store gateway reading
 * blocks by range. Workers have no background timers, so block sync and endpoint probes run inside
 * requests: awaited the first time, then refreshed in the background (`ctx.waitUntil`) when stale.
 */
import type { Hono } from "hono";
import { createConnectTransport } from "@connectrpc/connect-web";
import type { Bucket } from "../../objstore/bucket.ts";
import { withPrefix } from "../../objstore/prefixed-bucket.ts";
import { createR2Bucket } from "../../objstore/r2-bucket.ts";
import { createEndpointSet, type EndpointSet } from "../../query/endpoint-set.ts";
import { createQueryComponent } from "../../query/query-component.ts";
import { createStoreClient, type StoreTransportFactory } from "../../query/store-client.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createBucketStore, type BucketStore } from "../../store/bucket-store.ts";
import { instantiateMeridianWasm, setDefaultWasm } from "../../wasm/module.ts";
import { parseWorkerConfig, WorkerConfigError, type MeridianWorkerEnv, type WorkerConfig } from "./config.ts";
import { createLocalStoreClient } from "./local-store-client.ts";
import { createOutboundLimiter, type OutboundLimiter } from "./outbound-limiter.ts";
import { createFetchS3Bucket } from "./s3-fetch-bucket.ts";

/** The part of the Workers `ExecutionContext` used here. */
export interface WorkerContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** A Workers module handler (`export default`). */
export interface WorkerHandler {
  fetch(request: Request, env: MeridianWorkerEnv, ctx: WorkerContext): Promise<Response>;
}

/** Options of {@link createWorkerHandler}. */
export interface WorkerHandlerOptions {
  /** The compiled Meridian module (a Workers `.wasm` import). */
  readonly wasmModule: WebAssembly.Module;
  /** Mounts extra routes (e.g. the web UI) before the API. */
  readonly extend?: (app: Hono) => void;
}

/** Address under which the in-Worker R2 store appears on `/api/v1/stores`. */
export const R2_STORE_ADDRESS = "r2://BLOCKS";

interface State {
  readonly config: WorkerConfig;
  readonly app: Hono;
  readonly endpoints: EndpointSet;
  /** In-Worker store gateways (R2 binding, S3 over fetch) by endpoint address. */
  readonly stores: ReadonlyMap<string, BucketStore>;
  readonly limiter: OutboundLimiter;
  probed: number;
  synced: number;
  probing: Promise<void> | undefined;
  syncing: Promise<void> | undefined;
}

function log(level: string, msg: string): void {
  console.log(`level=${level} component=query runtime=workers msg=${JSON.stringify(msg)}`);
}

/** Connect (binary) over the limiter's fetch; gRPC targets were already rejected by the config. */
function workersTransportFactory(limiter: OutboundLimiter): StoreTransportFactory {
  return (target, interceptors) => ({
    transport: createConnectTransport({ baseUrl: target.baseUrl, useBinaryFormat: true, fetch: limiter.fetch, interceptors }),
    close() {},
  });
}

async function build(env: MeridianWorkerEnv, opts: WorkerHandlerOptions): Promise<State> {
  const config = parseWorkerConfig(env);
  const wasm = await instantiateMeridianWasm(opts.wasmModule);
  setDefaultWasm(wasm);
  const metrics = createMetricsRegistry();
  const limiter = createOutboundLimiter({ maxConnections: config.maxConnections, spillBytes: config.spillBytes });
  const inFlight = metrics.gauge("meridian_outbound_connections_in_flight", "Outbound connections (fetch, R2) held by this isolate.");
  const waiting = metrics.gauge("meridian_outbound_connections_waiting", "Outbound calls waiting for a connection.");
  const buffered = metrics.gauge("meridian_outbound_spill_bytes", "Response bytes buffered to free connections for waiting calls.");
  metrics.onCollect(() => {
    inFlight.set(limiter.inFlight);
    waiting.set(limiter.waiting);
    buffered.set(limiter.buffered);
  });
  const around = <T>(fn: () => Promise<T>): Promise<T> => limiter.run(fn);
  const buckets: [string, Bucket][] = [];
  if (config.blocks) buckets.push([R2_STORE_ADDRESS, createR2Bucket(config.blocks, { name: "BLOCKS", around })]);
  if (config.objstore) {
    const s3 = config.objstore.s3;
    // Every S3 request is one fetch through the limiter; a body is read whole before its permit goes back.
    const b = withPrefix(withPrefix(createFetchS3Bucket(s3, { fetch: limiter.fetch }), s3.prefix ?? ""), config.objstore.prefix);
    buckets.push([`s3://${b.name}`, b]);
  }
  const stores = new Map<string, BucketStore>();
  for (const [address, bucket] of buckets) {
    stores.set(address, createBucketStore({
      bucket,
      metrics,
      wasm,
      indexCacheBytes: config.indexCacheBytes,
      samplesLimit: config.samplesLimit,
      // Every bucket read holds a connection; more loaders would only queue on the limiter.
      syncConcurrency: config.maxConnections,
      seriesConcurrency: 4,
      log,
    }));
  }
  const transportFactory = workersTransportFactory(limiter);
  const endpoints = createEndpointSet({
    staticEndpoints: [...[...stores.keys()].map((address) => ({ address })), ...config.endpoints],
    clientFactory: (spec) => {
      const local = stores.get(spec.address);
      return local
        ? createLocalStoreClient(spec.address, local.storeApi)
        : createStoreClient(spec.address, { transportFactory, ...(spec.bearerToken !== undefined ? { bearerToken: spec.bearerToken } : {}) });
    },
  });
  const component = createQueryComponent({
    endpoints,
    wasm,
    metrics,
    engine: { lookbackDelta: config.lookbackDeltaMs, maxSamples: config.maxSamples, timeout: config.queryTimeoutMs },
    replicaLabels: config.replicaLabels,
    dedupFunc: config.dedupFunc,
    partialResponseDefault: config.partialResponse,
    queryTimeout: config.queryTimeoutMs,
    responseTimeoutMs: config.responseTimeoutMs,
    // workerd (and Cloudflare's edge) compress responses for the client themselves.
    compressResponses: false,
    ...(config.corsOrigins.length > 0 ? { cors: config.corsOrigins } : {}),
    ...(config.bearerToken !== undefined ? { bearerToken: config.bearerToken } : {}),
    flags: {
      "runtime": "workers",
      "endpoints": config.endpoints.map((e) => e.address).join(","),
      "block-stores": [...stores.keys()].join(","),
      "query.replica-label": config.replicaLabels.join(","),
      "max-connections": String(config.maxConnections),
    },
    ...(opts.extend ? { extend: opts.extend } : {}),
  });
  return { config, app: component.app, endpoints, stores, limiter, probed: 0, synced: 0, probing: undefined, syncing: undefined };
}

/** Brings block list and endpoint health up to date: awaits what was never done, refreshes the rest in the background. */
async function refresh(st: State, ctx: WorkerContext): Promise<void> {
  const now = Date.now();
  const stores = [...st.stores];
  if (stores.length > 0 && (stores.some(([, s]) => !s.ready()) || now - st.synced >= st.config.syncIntervalMs)) {
    st.syncing ??= Promise.all(
      stores.map(([address, store]) =>
        store.sync().then(
          (r) => log("info", `${address}: synced blocks: ${r.total} served, ${r.loaded.length} new, ${r.dropped.length} dropped, ${r.failed.length} failed`),
          (err: unknown) => log("error", `${address}: block sync failed: ${(err as Error).message}`),
        ),
      ),
    )
      .then(() => {
        st.synced = Date.now();
      })
      .finally(() => (st.syncing = undefined));
    if (st.synced === 0) {
      await st.syncing;
      // The local store's Info changes with its blocks: probe again now.
      st.probed = 0;
    } else ctx.waitUntil(st.syncing);
  }
  if (st.probed === 0 || now - st.probed >= st.config.probeIntervalMs) {
    const first = st.probed === 0;
    st.probing ??= st.endpoints.probe().finally(() => {
      st.probed = Date.now();
      st.probing = undefined;
    });
    if (first) await st.probing;
    else ctx.waitUntil(st.probing);
  }
}

/** Creates the Worker's handler; state is built on the first request of each isolate. */
export function createWorkerHandler(opts: WorkerHandlerOptions): WorkerHandler {
  let state: Promise<State> | undefined;
  return {
    async fetch(request, env, ctx) {
      state ??= build(env, opts);
      let st: State;
      try {
        st = await state;
      } catch (err) {
        // Configuration does not change within an isolate: keep refusing with the same message.
        const msg = err instanceof WorkerConfigError ? err.message : `start-up failed: ${(err as Error).message}`;
        if (!(err instanceof WorkerConfigError)) state = undefined;
        return new Response(`meridian: ${msg}\n`, { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
      }
      await refresh(st, ctx);
      return st.app.fetch(request, env, ctx as Parameters<Hono["fetch"]>[2]);
    },
  };
}
