/**
 * `meridian sidecar` on Node: serves the StoreAPI of the Prometheus at `--prometheus.url` over
 * native gRPC (`--grpc-address`) and Connect/gRPC-Web plus probes and metrics (`--http-address`),
 * and with a bucket configured ships the blocks in `--tsdb.path`. Exits 1 on fatal configuration
 * problems (no external labels, local compaction on while uploading).
 */
import process from "node:process";
import type { Bucket } from "../../objstore/bucket.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createSidecar } from "../../sidecar/sidecar.ts";
import { createLogger } from "../logger.ts";
import type { FlagValues } from "../flags.ts";
import { openBucketFromFlags } from "./objstore.ts";
import { readBearerToken, startComponentServers } from "./component-servers.ts";
import { createNodeShipperFs } from "./shipper-fs.ts";
import { createNodeHttpPost } from "./sidecar-http-post.ts";

/** Runs the sidecar until SIGINT/SIGTERM or a fatal error; resolves with the exit code. */
export async function runSidecar(flags: FlagValues): Promise<number> {
  const log = createLogger("sidecar", String(flags["log.level"] ?? "info"));
  const metrics = createMetricsRegistry();
  const hasBucket = Boolean(flags["objstore.config-file"] || flags["objstore.config"]);
  let bucket: Bucket | undefined;
  if (hasBucket) bucket = await openBucketFromFlags(flags, (m) => log("warn", m));
  const tsdbPath = String(flags["tsdb.path"]);
  const bearerToken = await readBearerToken(flags);

  const sidecar = createSidecar({
    prometheusUrl: String(flags["prometheus.url"]),
    post: createNodeHttpPost(),
    metrics,
    log,
    ...(bucket ? { bucket, shipperFs: createNodeShipperFs(tsdbPath) } : {}),
    uploadCompacted: flags["shipper.upload-compacted"] === true,
    ignoreUnequalBlockSize: flags["shipper.ignore-unequal-block-size"] === true,
  });
  const shutdown = new AbortController();
  const { http, grpc } = await startComponentServers(flags, { storeApi: sidecar.storeApi, ready: sidecar.ready, metrics, bearerToken, shutdownSignal: shutdown.signal });
  log("info", `listening: http port ${http.port}, grpc port ${grpc.port}${bucket ? `, shipping ${tsdbPath} to ${bucket.name}` : ""}`);

  let signalled: () => void = () => {};
  const stopped = new Promise<"signal">((resolve) => (signalled = () => resolve("signal")));
  process.once("SIGINT", signalled);
  process.once("SIGTERM", signalled);

  let code = 0;
  const outcome = await Promise.race([
    sidecar.start().then(
      () => Promise.race([stopped, sidecar.fatal]),
      (err: unknown) => err as Error,
    ),
    stopped,
  ]);
  if (outcome !== "signal") {
    log("error", outcome.message);
    code = 1;
  } else {
    log("info", "shutting down");
  }
  process.off("SIGINT", signalled);
  process.off("SIGTERM", signalled);
  await sidecar.stop();
  shutdown.abort();
  await Promise.all([http.close(5000), grpc.close(5000)]);
  await bucket?.close();
  return code;
}

/** The remote-read HTTP client the Node runner injects (see sidecar-http-post.ts). */
export { createNodeHttpPost } from "./sidecar-http-post.ts";

export default runSidecar;
