/**
 * `meridian query` on Deno (`deno task query ...`): the same query component as on Node, served by
 * `Deno.serve` (Prometheus HTTP API, Connect/gRPC-Web StoreAPI, probes, metrics). Endpoints are
 * dialed over Connect (http/https URLs): Deno's fetch has no trailers, so neither a native gRPC
 * server nor a reliable gRPC client is available here.
 */
import { createEndpointSet } from "../../query/endpoint-set.ts";
import { dedupeSpecs, endpointSpecsFromFlags, type EndpointSpec } from "../../query/endpoint-config.ts";
import { createQueryComponent } from "../../query/query-component.ts";
import { createFetchTransportFactory, createStoreClient, parseEndpointAddress } from "../../query/store-client.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import type { FlagValues } from "../flags.ts";
import { createLogger } from "../logger.ts";
import { flagStrings, queryOptionsFromFlags, type QueryFlagOptions } from "../query-flags.ts";
import { watchEndpointSdFile, type EndpointSdWatch } from "../node/endpoint-sd-file.ts";
import { loadWasm } from "../node/load-wasm.ts";
import { getDeno, splitAddress } from "./deno-api.ts";
import { denoServeTls } from "./serve-tls.ts";


function connectOnly(specs: EndpointSpec[], source: string): EndpointSpec[] {
  for (const s of specs) {
    if (parseEndpointAddress(s.address).protocol !== "connect") {
      throw new Error(`${source}: endpoint ${JSON.stringify(s.address)} is native gRPC; on Deno use the endpoint's http(s):// Connect URL`);
    }
  }
  return specs;
}

/** Runs the querier on Deno until SIGINT/SIGTERM; resolves with the exit code. */
export async function runQueryOnDeno(flags: FlagValues): Promise<number> {
  const deno = getDeno();
  const log = createLogger("query", String(flags["log.level"] ?? "info"));
  let fromFlags: QueryFlagOptions;
  try {
    fromFlags = queryOptionsFromFlags(flags);
  } catch (err) {
    log("error", (err as Error).message);
    return 2;
  }
  let staticSpecs: EndpointSpec[];
  try {
    staticSpecs = connectOnly(dedupeSpecs(endpointSpecsFromFlags(flagStrings(flags["endpoint"]))), "--endpoint");
  } catch (err) {
    log("error", (err as Error).message);
    return 2;
  }
  const wasm = await loadWasm();
  const metrics = createMetricsRegistry();
  const bearerFile = flags["http.bearer-token-file"];
  const bearerToken = typeof bearerFile === "string" && bearerFile !== "" ? (await deno.readTextFile(bearerFile)).trim() : undefined;
  const transportFactory = createFetchTransportFactory();
  const endpoints = createEndpointSet({
    staticEndpoints: staticSpecs,
    clientFactory: (spec) => createStoreClient(spec.address, { transportFactory, ...(spec.bearerToken !== undefined ? { bearerToken: spec.bearerToken } : {}) }),
  });
  let sd: EndpointSdWatch | undefined;
  const sdFile = flags["endpoint.sd-config-file"];
  if (typeof sdFile === "string" && sdFile !== "") {
    try {
      sd = await watchEndpointSdFile(sdFile, (specs) => endpoints.setDynamic(connectOnly(specs, sdFile)), { onError: (e) => log("warn", e.message) });
    } catch (err) {
      log("error", `--endpoint.sd-config-file: ${(err as Error).message}`);
      endpoints.close();
      return 2;
    }
  }
  endpoints.start();

  const shutdown = new AbortController();
  const component = createQueryComponent({
    endpoints,
    wasm,
    metrics,
    ...fromFlags,
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    shutdownSignal: shutdown.signal,
  });

  const { hostname, port } = splitAddress(String(flags["http-address"]));
  const tls = await denoServeTls(deno, flags);
  const server = deno.serve(
    // Deno.serve takes cert/key PEM text for HTTPS (spread, so the local DenoApi type needs no change).
    { hostname, port, ...tls, onListen: (a) => log("info", `listening: ${tls.cert ? "https" : "http"} ${a.hostname}:${a.port} (API, Connect, gRPC-Web); endpoints: ${endpoints.statuses().map((s) => s.address).join(", ") || "none"}`) },
    (req) => component.app.fetch(req),
  );

  await new Promise<void>((resolve) => {
    const stop = () => {
      deno.removeSignalListener("SIGINT", stop);
      deno.removeSignalListener("SIGTERM", stop);
      resolve();
    };
    deno.addSignalListener("SIGINT", stop);
    deno.addSignalListener("SIGTERM", stop);
  });
  log("info", "shutting down");
  shutdown.abort();
  sd?.close();
  endpoints.close();
  await server.shutdown();
  return 0;
}
