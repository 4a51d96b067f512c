/**
 * The two listeners every Node component runs, set up from the shared flags in one place: the HTTP
 * face (`--http-address`, optional TLS) and the native gRPC StoreAPI (`--grpc-address`, optional
 * TLS), both behind `--http.bearer-token-file` when set.
 */
import { readFile } from "node:fs/promises";
import type { Hono } from "hono";
import { createComponentApp } from "../../server/app.ts";
import type { MetricsRegistry } from "../../server/metrics.ts";
import type { StoreApi } from "../../server/store-api.ts";
import type { FlagValues } from "../flags.ts";
import { startGrpcServer, startHttpServer, type RunningServer } from "./serve.ts";
import { tlsFromFlags } from "./tls-flags.ts";

/** The token from `--http.bearer-token-file`, or undefined when the flag is unset. */
export async function readBearerToken(flags: FlagValues): Promise<string | undefined> {
  const file = flags["http.bearer-token-file"];
  return typeof file === "string" && file !== "" ? (await readFile(file, "utf8")).trim() : undefined;
}

/** Options of {@link startComponentServers}. */
export interface ComponentServersOptions {
  readonly storeApi: StoreApi;
  readonly ready: () => boolean;
  readonly metrics: MetricsRegistry;
  readonly bearerToken: string | undefined;
  readonly shutdownSignal: AbortSignal;
  /** The HTTP app; default: the plain component app (StoreAPI over Connect/gRPC-Web, probes, metrics, `--web.cors-origin`). */
  readonly app?: Hono;
}

/** Starts the HTTP and gRPC listeners of a component. */
export async function startComponentServers(flags: FlagValues, opts: ComponentServersOptions): Promise<{ http: RunningServer; grpc: RunningServer }> {
  const token = opts.bearerToken !== undefined ? { bearerToken: opts.bearerToken } : {};
  const cors = flags["web.cors-origin"];
  const app =
    opts.app ??
    createComponentApp({
      storeApi: opts.storeApi,
      ready: opts.ready,
      metrics: opts.metrics,
      ...(typeof cors === "string" && cors !== "" ? { cors: [cors] } : {}),
      ...token,
      shutdownSignal: opts.shutdownSignal,
    });
  const http = await startHttpServer({ address: String(flags["http-address"]), fetch: app.fetch, ...tlsFromFlags(flags, "http") });
  const grpc = await startGrpcServer({
    address: String(flags["grpc-address"]),
    ...tlsFromFlags(flags, "grpc"),
    storeApi: opts.storeApi,
    ready: opts.ready,
    metrics: opts.metrics,
    ...token,
  });
  return { http, grpc };
}
