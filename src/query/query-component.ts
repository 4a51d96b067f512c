/**
 * The querier as one runtime-neutral unit: fan-out StoreAPI over an endpoint set, PromQL engine,
 * Prometheus HTTP API, `/api/v1/stores`, and the querier's own StoreAPI (so queriers can be
 * endpoints of other queriers). Runtime adapters only add sockets, files and signals.
 */
import { Hono } from "hono";
import { compress } from "hono/compress";
import { createEngine, type EngineOptions } from "../promql/engine.ts";
import { createComponentApp } from "../server/app.ts";
import type { MetricsRegistry } from "../server/metrics.ts";
import { mountUi } from "../ui/routes.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { createPrometheusApi } from "./api/routes.ts";
import { encodeStoresData } from "./api/stores.ts";
import type { EndpointSet } from "./endpoint-set.ts";
import { createFanoutStoreApi, type FanoutStoreApi } from "./fanout-store-api.ts";
import { classifyQueryError } from "./api/classify-error.ts";
import { parseSeriesSelector } from "./api/series-selector.ts";
import { createStoreQueryable } from "./store-queryable.ts";

/** Options of {@link createQueryComponent}. */
export interface QueryComponentOptions {
  readonly endpoints: EndpointSet;
  readonly wasm: MeridianWasm;
  readonly metrics: MetricsRegistry;
  readonly engine?: EngineOptions;
  readonly replicaLabels?: readonly string[];
  readonly dedupFunc?: "penalty" | "chain";
  readonly partialResponseDefault?: boolean;
  /** `--query.timeout` in ms. */
  readonly queryTimeout?: number;
  /** `--store.response-timeout` in ms (0 = none). */
  readonly responseTimeoutMs?: number;
  readonly cors?: string[];
  readonly bearerToken?: string;
  readonly shutdownSignal?: AbortSignal;
  /** Values shown by `/api/v1/status/flags`. */
  readonly flags?: Readonly<Record<string, string>>;
  /**
   * Gzip API responses for clients that accept it (default true). Off on Workers: workerd
   * compresses any response itself, so an app-compressed body would arrive compressed twice.
   */
  readonly compressResponses?: boolean;
  /** Mounts extra routes on the component app (behind authentication) before the API. */
  readonly extend?: (app: Hono) => void;
}

/** The assembled querier. */
export interface QueryComponent {
  readonly app: Hono;
  readonly storeApi: FanoutStoreApi;
  ready(): boolean;
}

/** Version reported by `/api/v1/status/buildinfo`. */
export const MERIDIAN_VERSION = "0.1.0";

/** Creates the querier. Call `endpoints.start()` yourself; readiness follows the first probe round. */
export function createQueryComponent(opts: QueryComponentOptions): QueryComponent {
  const storeApi = createFanoutStoreApi({ endpoints: opts.endpoints, responseTimeoutMs: opts.responseTimeoutMs ?? 0 });
  let probed = false;
  void opts.endpoints.firstProbe.then(() => (probed = true));
  const ready = () => probed;
  const engine = createEngine(opts.engine ?? {});
  const replicaLabels = opts.replicaLabels ?? [];
  const app = createComponentApp({
    storeApi,
    ready,
    metrics: opts.metrics,
    ...(opts.cors ? { cors: opts.cors } : {}),
    ...(opts.bearerToken !== undefined ? { bearerToken: opts.bearerToken } : {}),
    ...(opts.shutdownSignal ? { shutdownSignal: opts.shutdownSignal } : {}),
  });
  opts.extend?.(app);
  const api = createPrometheusApi({
    engine,
    queryable: (r) =>
      createStoreQueryable({
        stores: storeApi,
        wasm: opts.wasm,
        request: { ...r, ...(opts.dedupFunc ? { dedupFunc: opts.dedupFunc } : {}) },
      }),
    parseSelector: parseSeriesSelector,
    classifyError: classifyQueryError,
    replicaLabels,
    partialResponseDefault: opts.partialResponseDefault ?? true,
    queryTimeout: opts.queryTimeout ?? 120_000,
    buildInfo: { version: MERIDIAN_VERSION, revision: "", branch: "", buildUser: "", buildDate: "", goVersion: "" },
    flags: opts.flags ?? {},
    extend: (a) => a.get("/stores", (c) => c.body(encodeStoresData(opts.endpoints.statuses()), 200, { "content-type": "application/json" })),
  });
  app.route("/api/v1", api);
  // The UI page and its assets are public (they hold no data); everything else goes through the
  // component app, with its bearer-token check.
  const root = new Hono();
  // Prometheus gzips API responses for clients that accept it; big matrices shrink ~10x.
  if (opts.compressResponses !== false) root.use("/api/*", compress());
  mountUi(root);
  root.route("/", app);
  return { app: root, storeApi, ready };
}
