/**
 * The HTTP face every Meridian component shares, as a Hono app (runs on Node, Deno and Workers):
 * the StoreAPI (and gRPC health) over Connect and gRPC-Web, `/-/healthy`, `/-/ready`, `/metrics`, optional CORS for
 * browsers calling the StoreAPI, and optional bearer-token authentication. Components add their own
 * routes (e.g. the querier's `/api/v1/*`) to the returned app.
 */
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { Interceptor } from "@connectrpc/connect";
import { createBearerTokenInterceptor, isAuthorized, UNAUTHENTICATED_MESSAGE } from "./auth.ts";
import { createConnectFetchHandler } from "./connect-handler.ts";
import { registerHealth } from "./health.ts";
import { METRICS_CONTENT_TYPE } from "./metrics.ts";
import type { MetricsRegistry } from "./metrics.ts";
import { createRpcMetricsInterceptor } from "./rpc-metrics.ts";
import { registerStoreApi } from "./store-api.ts";
import type { StoreApi } from "./store-api.ts";

/** Options for {@link createComponentApp}. */
export interface ComponentAppOptions {
  /** Served over Connect and gRPC-Web when given. */
  storeApi?: StoreApi;
  /** `/-/ready` answers 503 (and Info `Unavailable`) until this returns true. */
  ready: () => boolean;
  /** Rendered on `/metrics`; RPC and HTTP request metrics are recorded into it. */
  metrics: MetricsRegistry;
  /** Origins allowed to call the StoreAPI from browsers (`"*"` for any). No CORS headers when absent. */
  cors?: string[];
  /** When set, every route except `/-/healthy`, `/-/ready`, CORS preflights and the gRPC health service requires `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Aborting it cancels running RPCs (graceful shutdown). */
  shutdownSignal?: AbortSignal;
}

/** Request headers Connect and gRPC-Web clients send (besides the CORS-safelisted ones). */
export const CONNECT_ALLOWED_HEADERS: readonly string[] = [
  "Content-Type", "Connect-Protocol-Version", "Connect-Timeout-Ms", "Connect-Accept-Encoding", "Connect-Content-Encoding",
  "Grpc-Timeout", "Grpc-Accept-Encoding", "Grpc-Encoding", "X-Grpc-Web", "X-User-Agent", "Authorization", "Thanos-Tenant",
];

/** Response headers browsers must be allowed to read for Connect and gRPC-Web errors and trailers. */
export const CONNECT_EXPOSED_HEADERS: readonly string[] = [
  "Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin", "Grpc-Encoding", "Grpc-Accept-Encoding",
  "Connect-Content-Encoding", "Connect-Accept-Encoding",
];

const OPEN_PATHS = new Set(["/-/healthy", "/-/ready"]);

/** Creates the component's Hono app. */
export function createComponentApp(opts: ComponentAppOptions): Hono {
  const app = new Hono();
  const httpRequests = opts.metrics.counter("http_requests_total", "Tracks the number of HTTP requests.", ["code", "handler", "method"]);
  const httpDuration = opts.metrics.histogram("http_request_duration_seconds", "Tracks the latencies for HTTP requests.", [0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120], ["code", "handler", "method"]);

  const interceptors: Interceptor[] = [];
  if (opts.bearerToken !== undefined) interceptors.push(createBearerTokenInterceptor(opts.bearerToken));
  interceptors.push(createRpcMetricsInterceptor(opts.metrics));
  const storeApi = opts.storeApi;
  const rpc = storeApi
    ? createConnectFetchHandler({
        // Binary protobuf clients get the fast Series codec; JSON clients the ordinary one.
        routes: (r) => { registerStoreApi(r, storeApi, { ready: opts.ready, rawSeries: true }); registerHealth(r, opts.ready); },
        jsonRoutes: (r) => { registerStoreApi(r, storeApi, { ready: opts.ready }); registerHealth(r, opts.ready); },
        interceptors,
        ...(opts.shutdownSignal ? { shutdownSignal: opts.shutdownSignal } : {}),
      })
    : undefined;
  const isRpcPath = (path: string): boolean => rpc !== undefined && rpc.servicePrefixes.some((p) => path.startsWith(p));

  // HTTP metrics for plain routes; RPCs are counted by the RPC interceptor instead.
  const record: MiddlewareHandler = async (c, next) => {
    const t0 = performance.now();
    await next();
    if (isRpcPath(c.req.path)) return;
    const labels = { code: String(c.res.status), handler: c.req.routePath || c.req.path, method: c.req.method };
    httpRequests.inc(labels);
    httpDuration.observe((performance.now() - t0) / 1000, labels);
  };
  app.use("*", record);

  if (rpc && opts.cors && opts.cors.length > 0) {
    const allowed = opts.cors;
    const handler = cors({
      origin: (origin) => (allowed.includes("*") ? "*" : allowed.includes(origin) ? origin : null),
      allowMethods: ["POST", "GET", "OPTIONS"],
      allowHeaders: [...CONNECT_ALLOWED_HEADERS],
      exposeHeaders: [...CONNECT_EXPOSED_HEADERS],
      maxAge: 7200,
    });
    for (const prefix of rpc.servicePrefixes) app.use(`${prefix}*`, handler);
  }

  const token = opts.bearerToken;
  if (token !== undefined) {
    app.use("*", async (c, next) => {
      // RPC paths are checked by the interceptor so the error is protocol-correct (Connect
      // `unauthenticated` / gRPC status 16); probes and preflights stay open.
      if (OPEN_PATHS.has(c.req.path) || c.req.method === "OPTIONS" || isRpcPath(c.req.path)) return next();
      if (!isAuthorized(c.req.header("authorization"), token)) {
        return c.text(`${UNAUTHENTICATED_MESSAGE}\n`, 401, { "WWW-Authenticate": "Bearer" });
      }
      return next();
    });
  }

  if (rpc) {
    app.use("*", async (c, next) => {
      const res = rpc.handle(c.req.raw);
      if (res === undefined) return next();
      return res;
    });
  }

  app.get("/-/healthy", (c) => c.text("OK\n"));
  app.get("/-/ready", (c) => (opts.ready() ? c.text("OK\n") : c.text("Not ready\n", 503)));
  app.get("/metrics", (c) => c.body(opts.metrics.render(), 200, { "Content-Type": METRICS_CONTENT_TYPE }));
  return app;
}
