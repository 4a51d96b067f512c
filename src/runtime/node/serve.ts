/**
 * Node listeners for components: an HTTP/1.1 (or HTTPS) server bridging to a fetch handler (the
 * Hono app with Connect/gRPC-Web, probes, metrics, HTTP API), and a native gRPC server over h2c
 * (or TLS) for Thanos queriers and grpc-go clients. Both accept `host:port` with port 0 allowed,
 * report the bound port and drain in-flight requests on close.
 */
import { readFile } from "node:fs/promises";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Interceptor } from "@connectrpc/connect";
import { splitHostPort } from "../../server/address.ts";
import { createBearerTokenInterceptor } from "../../server/auth.ts";
import type { MetricsRegistry } from "../../server/metrics.ts";
import { createRpcMetricsInterceptor, createRpcRecorder } from "../../server/rpc-metrics.ts";
import { registerHealth } from "../../server/health.ts";
import { isJsonContentType } from "../../server/raw-series.ts";
import { registerStoreApi } from "../../server/store-api.ts";
import type { StoreApi } from "../../server/store-api.ts";
import { createGrpcSeriesFastPath, isFastSeriesRequest } from "./grpc-series.ts";

/** TLS server configuration: PEM certificate chain and private key files. */
export interface ServerTlsFiles {
  certFile: string;
  keyFile: string;
}

/** A running listener. */
export interface RunningServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /**
   * Stops accepting connections and waits for in-flight requests to finish, at most `drainMs`
   * (default 10 s); whatever is still running then is cut off.
   */
  close(drainMs?: number): Promise<void>;
}

/** Options for {@link startHttpServer}. */
export interface HttpServerOptions {
  /** `host:port`; `:port` listens on all interfaces. */
  address: string;
  /** The fetch handler, e.g. `app.fetch` of a Hono app. */
  fetch: (req: Request) => Promise<Response> | Response;
  tls?: ServerTlsFiles;
}

/** Options for {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** `host:port`; `:port` listens on all interfaces. */
  address: string;
  storeApi: StoreApi;
  tls?: ServerTlsFiles;
  /** Requires `authorization: Bearer <token>` metadata on every call (Unauthenticated otherwise). */
  bearerToken?: string;
  /** Records `grpc_server_*` metrics. */
  metrics?: MetricsRegistry;
  /** Info answers Unavailable "Not ready" while false. */
  ready?: () => boolean;
}

function listenHost(host: string): string | undefined {
  // "" (":10901") means every interface; Node's default (undefined) binds dual-stack.
  return host === "" ? undefined : host;
}

async function listen(server: http.Server | http2.Http2Server, address: string): Promise<number> {
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`listen on ${address}: ${err.message}`, { cause: err }));
    server.once("error", onError);
    server.listen(port, listenHost(host), () => {
      server.off("error", onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function loadTls(tls: ServerTlsFiles): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
  return { cert, key };
}

function closeServer(server: { close(cb: (err?: Error) => void): unknown }): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function withTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  return Promise.race([p.then(() => true), t]).finally(() => clearTimeout(timer));
}

/** Starts an HTTP (or HTTPS with `tls`) server that hands every request to `fetch`. */
export async function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  const fetchFn = opts.fetch;
  const listener = getRequestListener((req) => fetchFn(req), { overrideGlobalObjects: false });
  const server: http.Server = opts.tls
    ? https.createServer(await loadTls(opts.tls), listener)
    : http.createServer(listener);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server, opts.address);
  return {
    port,
    async close(drainMs = 10_000) {
      const closed = closeServer(server);
      server.closeIdleConnections();
      if (!(await withTimeout(closed, drainMs))) {
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
        await closed;
      }
    },
  };
}

/**
 * Starts a native gRPC server (HTTP/2 cleartext, or TLS with `tls`) serving `thanos.Store`,
 * `thanos.info.Info` and `grpc.health.v1.Health` for `storeApi` — what Thanos queriers and grpc-go clients dial.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningServer> {
  const shutdown = new AbortController();
  const interceptors: Interceptor[] = [];
  if (opts.bearerToken !== undefined) interceptors.push(createBearerTokenInterceptor(opts.bearerToken));
  const record = opts.metrics ? createRpcRecorder(opts.metrics) : undefined;
  if (record) interceptors.push(createRpcMetricsInterceptor(record));
  const adapter = (rawSeries: boolean): ReturnType<typeof connectNodeAdapter> => connectNodeAdapter({
    routes: (r) => {
      registerStoreApi(r, opts.storeApi, { ...(opts.ready ? { ready: opts.ready } : {}), rawSeries });
      registerHealth(r, opts.ready ?? (() => true));
    },
    grpc: true,
    grpcWeb: false,
    connect: false,
    interceptors,
    shutdownSignal: shutdown.signal,
  });
  // application/grpc (protobuf) gets the fast Series codec; the rare application/grpc+json the ordinary one.
  const binary = adapter(true);
  const json = adapter(false);
  // Binary, uncompressed Series calls (what Thanos and Meridian queriers send) skip Connect: the
  // store's pre-encoded frames are written to the stream as they are (grpc-series.ts).
  const fastSeries = createGrpcSeriesFastPath({
    storeApi: opts.storeApi,
    ...(opts.bearerToken !== undefined ? { bearerToken: opts.bearerToken } : {}),
    ...(record ? { record } : {}),
    shutdownSignal: shutdown.signal,
  });
  const handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    if (isFastSeriesRequest(req)) return fastSeries(req);
    const ct = req.headers["content-type"];
    void (isJsonContentType(typeof ct === "string" ? ct : undefined) ? json : binary)(req, res);
  };
  // Many concurrent Series streams buffer more than Node's default 10 MiB per session, which
  // would make it refuse new streams (ENHANCE_YOUR_CALM) from a busy querier.
  const h2opts = { maxSessionMemory: 256 };
  const server = opts.tls
    ? http2.createSecureServer({ ...(await loadTls(opts.tls)), ...h2opts, allowHTTP1: false }, handler)
    : http2.createServer(h2opts, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  const port = await listen(server, opts.address);
  return {
    port,
    async close(drainMs = 10_000) {
      const closed = closeServer(server);
      // GOAWAY: running streams finish, new ones go elsewhere.
      for (const s of sessions) s.close();
      if (!(await withTimeout(closed, drainMs))) {
        shutdown.abort();
        for (const s of sessions) s.destroy();
        await closed;
      }
    },
  };
}
