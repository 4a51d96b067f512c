/**
 * `meridian sidecar` on Deno: the StoreAPI over Connect and gRPC-Web (Deno cannot send HTTP
 * trailers, so no native gRPC) plus probes and metrics via `Deno.serve`, and the shipper, whose
 * bucket and local files go through Deno's `node:` compatibility.
 */
import type { Bucket } from "../../objstore/bucket.ts";
import { createComponentApp } from "../../server/app.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createSidecar } from "../../sidecar/sidecar.ts";
import { createLogger } from "../logger.ts";
import type { FlagValues } from "../flags.ts";
import { openBucketFromFlags } from "../node/objstore.ts";
import { createNodeShipperFs } from "../node/shipper-fs.ts";
import { getDeno, splitAddress } from "./deno-api.ts";
import { denoServeTls } from "./serve-tls.ts";

/** Runs the sidecar on Deno until SIGINT/SIGTERM or a fatal error; resolves with the exit code. */
export async function runSidecarOnDeno(flags: FlagValues): Promise<number> {
  const deno = getDeno();
  const log = createLogger("sidecar", String(flags["log.level"] ?? "info"));
  const metrics = createMetricsRegistry();
  let bucket: Bucket | undefined;
  if (flags["objstore.config-file"] || flags["objstore.config"]) bucket = await openBucketFromFlags(flags, (m) => log("warn", m));
  const bearerFile = flags["http.bearer-token-file"];
  const bearerToken = typeof bearerFile === "string" && bearerFile !== "" ? (await deno.readTextFile(bearerFile)).trim() : undefined;
  const corsOrigin = flags["web.cors-origin"];
  const sidecar = createSidecar({
    prometheusUrl: String(flags["prometheus.url"]),
    metrics,
    log,
    ...(bucket ? { bucket, shipperFs: createNodeShipperFs(String(flags["tsdb.path"])) } : {}),
    uploadCompacted: flags["shipper.upload-compacted"] === true,
    ignoreUnequalBlockSize: flags["shipper.ignore-unequal-block-size"] === true,
  });
  const shutdown = new AbortController();
  const app = createComponentApp({
    storeApi: sidecar.storeApi,
    ready: sidecar.ready,
    metrics,
    ...(typeof corsOrigin === "string" && corsOrigin !== "" ? { cors: [corsOrigin] } : {}),
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    shutdownSignal: shutdown.signal,
  });
  const { hostname, port } = splitAddress(String(flags["http-address"]));
  const tls = await denoServeTls(deno, flags);
  const server = deno.serve(
    // Deno.serve takes cert/key PEM text for HTTPS.
    { hostname, port, ...tls, onListen: (a) => log("info", `listening: ${tls.cert ? "https" : "http"} ${a.hostname}:${a.port} (Connect, gRPC-Web; native gRPC needs the Node runner)`) },
    (req) => app.fetch(req),
  );

  let signalled: () => void = () => {};
  const stopped = new Promise<"signal">((resolve) => (signalled = () => resolve("signal")));
  deno.addSignalListener("SIGINT", signalled);
  deno.addSignalListener("SIGTERM", signalled);
  const outcome = await Promise.race([
    sidecar.start().then(
      () => Promise.race([stopped, sidecar.fatal]),
      (err: unknown) => err as Error,
    ),
    stopped,
  ]);
  let code = 0;
  if (outcome !== "signal") {
    log("error", outcome.message);
    code = 1;
  }
  deno.removeSignalListener("SIGINT", signalled);
  deno.removeSignalListener("SIGTERM", signalled);
  await sidecar.stop();
  shutdown.abort();
  await server.shutdown();
  await bucket?.close();
  return code;
}
