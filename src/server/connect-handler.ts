/**
 * Serves Connect RPC services from a fetch-style handler `(Request) => Promise<Response>`, the one
 * HTTP shape every runtime has (Node through @hono/node-server, Deno.serve, Workers). Built on
 * @connectrpc/connect's router and its universal fetch adapter.
 *
 * Protocols: Connect and gRPC-Web. Native gRPC needs HTTP trailers, which fetch `Response`s cannot
 * carry, so it is off by default here; Node serves it on a separate h2c port
 * (`src/runtime/node/serve.ts`).
 */
import { createConnectRouter } from "@connectrpc/connect";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import { isJsonContentType } from "./raw-series.ts";

/** Options for {@link createConnectFetchHandler}. */
export interface ConnectFetchHandlerOptions {
  /** Registers services on the router, e.g. `(r) => registerStoreApi(r, api)`. */
  routes: (router: ConnectRouter) => void;
  /**
   * When given, requests with a JSON content type go to a router built from these routes instead
   * (lets `routes` use binary-only fast paths such as the raw Series codec).
   */
  jsonRoutes?: (router: ConnectRouter) => void;
  /** Also accept the gRPC protocol (only useful where the runtime can send trailers). Default false. */
  grpc?: boolean;
  /** Interceptors run for every call (authentication, metrics). */
  interceptors?: Interceptor[];
  /** Aborting it aborts every running call (graceful shutdown). */
  shutdownSignal?: AbortSignal;
  /** HTTP version reported to handlers; informational. Default "1.1". */
  httpVersion?: string;
}

/** A fetch-style RPC handler plus the paths it answers, so an HTTP app can route to it. */
export interface ConnectFetchHandler {
  /** Handles `req` when its path is one of {@link paths}; returns undefined for any other path. */
  handle(req: Request): Promise<Response> | undefined;
  /** Full request paths served, e.g. `/thanos.Store/Series`. */
  readonly paths: readonly string[];
  /** Service path prefixes, e.g. `/thanos.Store/`, for mounting middleware (CORS) on. */
  readonly servicePrefixes: readonly string[];
}

type FetchFn = (req: Request) => Promise<Response>;

/** Builds the fetch handler for the services `opts.routes` (and `opts.jsonRoutes`) register. */
export function createConnectFetchHandler(opts: ConnectFetchHandlerOptions): ConnectFetchHandler {
  const prefixes = new Set<string>();
  const build = (routes: (router: ConnectRouter) => void): Map<string, FetchFn> => {
    const router = createConnectRouter({
      grpc: opts.grpc ?? false,
      grpcWeb: true,
      connect: true,
      interceptors: opts.interceptors ?? [],
      ...(opts.shutdownSignal ? { shutdownSignal: opts.shutdownSignal } : {}),
    });
    routes(router);
    const byPath = new Map<string, FetchFn>();
    for (const h of router.handlers) {
      byPath.set(h.requestPath, createFetchHandler(h, { httpVersion: opts.httpVersion ?? "1.1" }));
      prefixes.add(`/${h.service.typeName}/`);
    }
    return byPath;
  };
  const byPath = build(opts.routes);
  const jsonByPath = opts.jsonRoutes ? build(opts.jsonRoutes) : byPath;
  return {
    handle(req) {
      const path = new URL(req.url).pathname;
      const table = isJsonContentType(req.headers.get("content-type")) ? jsonByPath : byPath;
      const fn = table.get(path);
      return fn ? fn(req) : undefined;
    },
    paths: [...new Set([...byPath.keys(), ...jsonByPath.keys()])],
    servicePrefixes: [...prefixes],
  };
}
