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
  readonly store: BucketStore | undefined;
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
  const store = config.blocks
    ? createBucketStore({
        bucket: createR2Bucket(config.blocks, { name: "BLOCKS", around }),
        metrics,
        wasm,
        indexCacheBytes: config.indexCacheBytes,
        samplesLimit: config.samplesLimit,
        // Every bucket read holds a connection; more loaders would only queue on the limiter.
        syncConcurrency: config.maxConnections,
        seriesConcurrency: 4,
        log,
      })
    : undefined;
  const transportFactory = workersTransportFactory(limiter);
  const endpoints = createEndpointSet({
    staticEndpoints: [...(store ? [{ address: R2_STORE_ADDRESS, strict: false }] : []), ...config.endpoints],
    clientFactory: (spec) =>
      spec.address === R2_STORE_ADDRESS && store
        ? createLocalStoreClient(R2_STORE_ADDRESS, store.storeApi)
        : createStoreClient(spec.address, { transportFactory, ...(spec.bearerToken !== undefined ? { bearerToken: spec.bearerToken } : {}) }),
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
    ...(config.corsOrigins.length > 0 ? { cors: config.corsOrigins } : {}),
    ...(config.bearerToken !== undefined ? { bearerToken: config.bearerToken } : {}),
    flags: {
      "runtime": "workers",
      "endpoints": config.endpoints.map((e) => e.address).join(","),
      "r2-bucket": config.blocks ? "BLOCKS" : "",
      "query.replica-label": config.replicaLabels.join(","),
      "max-connections": String(config.maxConnections),
    },
    ...(opts.extend ? { extend: opts.extend } : {}),
  });
  return { config, app: component.app, endpoints, store, limiter, probed: 0, synced: 0, probing: undefined, syncing: undefined };
}

/** Brings block list and endpoint health up to date: awaits what was never done, refreshes the rest in the background. */
async function refresh(st: State, ctx: WorkerContext): Promise<void> {
  const now = Date.now();
  if (st.store && (!st.store.ready() || now - st.synced >= st.config.syncIntervalMs)) {
    st.syncing ??= st.store
      .sync()
      .then((r) => {
        st.synced = Date.now();
        log("info", `synced blocks: ${r.total} served, ${r.loaded.length} new, ${r.dropped.length} dropped, ${r.failed.length} failed`);
      })
      .catch((err: unknown) => log("error", `block sync failed: ${(err as Error).message}`))
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
