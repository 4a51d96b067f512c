/**
 * `meridian query` on Node: probes the `--endpoint`s (and `--endpoint.sd-config-file`), serves the
 * Prometheus HTTP API, UI, Connect/gRPC-Web StoreAPI and metrics on `--http-address`, and the
 * querier's StoreAPI over native gRPC on `--grpc-address`, until SIGINT/SIGTERM.
 */
import process from "node:process";
import { createQueryComponent } from "../../query/query-component.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import type { FlagValues } from "../flags.ts";
import { queryOptionsFromFlags, type QueryFlagOptions } from "../query-flags.ts";
import { openEndpointsFromFlags, type NodeEndpoints } from "./endpoints.ts";
import { loadWasm } from "./load-wasm.ts";
import { createLogger } from "../logger.ts";
import { registerProcessMetrics } from "./process-metrics.ts";
import { readBearerToken, startComponentServers } from "./component-servers.ts";

/** Runs the querier; resolves with the exit code after shutdown. */
export async function runQuery(flags: FlagValues): Promise<number> {
  const log = createLogger("query", String(flags["log.level"] ?? "info"));
  const metrics = createMetricsRegistry();
  const wasm = await loadWasm();
  const bearerToken = await readBearerToken(flags);
  let fromFlags: QueryFlagOptions;
  try {
    fromFlags = queryOptionsFromFlags(flags);
  } catch (err) {
    log("error", (err as Error).message);
    return 2;
  }
  let opened: NodeEndpoints;
  try {
    opened = await openEndpointsFromFlags(flags, { onError: (e) => log("warn", e.message) });
  } catch (err) {
    log("error", (err as Error).message);
    return 2;
  }
  const endpoints = opened.set;
  registerProcessMetrics(metrics);

  const shutdown = new AbortController();
  const component = createQueryComponent({
    endpoints,
    wasm,
    metrics,
    ...fromFlags,
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    shutdownSignal: shutdown.signal,
  });

  const { http, grpc } = await startComponentServers(flags, {
    storeApi: component.storeApi,
    ready: component.ready,
    metrics,
    bearerToken,
    shutdownSignal: shutdown.signal,
    app: component.app,
  });
  log("info", `listening: http port ${http.port}, grpc port ${grpc.port}; endpoints: ${endpoints.statuses().map((s) => s.address).join(", ") || "none"}`);

  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  log("info", "shutting down");
  shutdown.abort();
  opened.close();
  await Promise.all([http.close(5000), grpc.close(5000)]);
  return 0;
}

export default runQuery;
