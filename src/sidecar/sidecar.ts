/**
 * The sidecar component, runtime-neutral: wires the Prometheus client, the 30 s heartbeat, the
 * StoreAPI and (with a bucket) the shipper together. Runtime adapters (Node runner, Deno entry)
 * own sockets, files and signals and call {@link createSidecar}.
 */
import type { Bucket } from "../objstore/bucket.ts";
import type { MetricsRegistry } from "../server/metrics.ts";
import type { StoreApi } from "../server/store-api.ts";
import { createPrometheusClient, NoExternalLabelsError, type PrometheusClient } from "./prometheus-client.ts";
import { createPrometheusState, type PrometheusState } from "./prometheus-state.ts";
import { checkBlockDurations, createShipper, type Shipper, type ShipperFs } from "./shipper.ts";
import type { HttpPost } from "./http-post.ts";
import { createSidecarStoreApi } from "./store-api.ts";

/** Log levels used by the sidecar. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Options of {@link createSidecar}. */
export interface SidecarOptions {
  readonly prometheusUrl: string;
  readonly metrics: MetricsRegistry;
  readonly log: (level: LogLevel, msg: string) => void;
  /** Injected fetch for everything sent to Prometheus. */
  readonly fetch?: typeof fetch;
  /** Injected HTTP client for remote read only (the bulk of the bytes); defaults to `fetch`. */
  readonly post?: HttpPost;
  /** Bucket and TSDB access enable the shipper. */
  readonly bucket?: Bucket;
  readonly shipperFs?: ShipperFs;
  readonly uploadCompacted?: boolean;
  /** Warn instead of refusing when Prometheus compacts locally (`--shipper.ignore-unequal-block-size`). */
  readonly ignoreUnequalBlockSize?: boolean;
  /** Heartbeat period (default 30 s, as Thanos). */
  readonly heartbeatMs?: number;
  /** Shipper period (default 30 s, as Thanos). */
  readonly shipIntervalMs?: number;
  /** Delay between attempts while Prometheus does not answer at start-up (default 2 s). */
  readonly startRetryMs?: number;
}

/** A running sidecar (servers are the adapter's business). */
export interface Sidecar {
  readonly storeApi: StoreApi;
  readonly state: PrometheusState;
  readonly client: PrometheusClient;
  readonly shipper?: Shipper;
  /** Ready once Prometheus answered; false again while it is down. */
  ready(): boolean;
  /**
   * Waits for Prometheus (retrying while it is unreachable), checks block durations when shipping,
   * then starts the heartbeat and the shipper loop. Rejects on fatal problems (no external labels,
   * local compaction enabled with uploads on); `fatal` also settles if one arises later.
   */
  start(): Promise<void>;
  /** Settles with the fatal error that should stop the process. */
  readonly fatal: Promise<Error>;
  /** Stops the loops. */
  stop(): Promise<void>;
}

/** Creates (but does not start) a sidecar. */
export function createSidecar(opts: SidecarOptions): Sidecar {
  const { log, metrics } = opts;
  const client = createPrometheusClient({ url: opts.prometheusUrl, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  const state = createPrometheusState(client);
  // What the last streamed Series call held (see SeriesStreamStats): shows that streaming keeps
  // the sidecar's buffers at a few frames however many series an answer has.
  const bufferedPeak = metrics.gauge(
    "meridian_sidecar_series_buffered_bytes_peak",
    "Most bytes the last streamed Series call held in the sidecar's own buffers (incomplete remote-read frame, chunk arena, response frames not yet sent).",
  );
  const largestReadFrame = metrics.gauge("meridian_sidecar_remote_read_largest_frame_bytes", "Largest remote-read frame of the last streamed Series call.");
  const largestResponse = metrics.gauge("meridian_sidecar_series_largest_response_bytes", "Largest Series response frame of the last streamed Series call.");
  const storeApi = createSidecarStoreApi({
    client,
    state,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.post ? { post: opts.post } : {}),
    onWarning: (m) => log("warn", m),
    onSeriesStats: (s) => {
      bufferedPeak.set(s.peakBufferedBytes);
      largestReadFrame.set(s.largestFrameBytes);
      largestResponse.set(s.largestResponseBytes);
    },
  });
  const up = metrics.gauge("thanos_sidecar_prometheus_up", "Boolean indicator whether the sidecar can reach its Prometheus peer.");
  const lastHeartbeat = metrics.gauge("thanos_sidecar_last_heartbeat_success_time_seconds", "Timestamp of the last successful heartbeat in seconds.");
  const uploads = metrics.counter("thanos_shipper_uploads_total", "Total number of uploaded blocks.");
  const uploadFailures = metrics.counter("thanos_shipper_upload_failures_total", "Total number of block upload failures.");
  const shipper =
    opts.bucket && opts.shipperFs
      ? createShipper({
          fs: opts.shipperFs,
          bucket: opts.bucket,
          externalLabels: () => state.externalLabels,
          uploadCompacted: opts.uploadCompacted ?? false,
          log: (level, msg) => log(level, msg),
        })
      : undefined;

  const stopController = new AbortController();
  const stopSignal = stopController.signal;
  let stopHeartbeat: (() => void) | undefined;
  let shipTimer: ReturnType<typeof setTimeout> | undefined;
  let shipping: Promise<void> | undefined;
  let resolveFatal!: (err: Error) => void;
  const fatal = new Promise<Error>((r) => (resolveFatal = r));

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      stopSignal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });

  function markHeartbeat(ok: boolean): void {
    up.set(ok ? 1 : 0);
    if (ok) lastHeartbeat.set(Date.now() / 1000);
  }

  async function shipOnce(): Promise<void> {
    if (!shipper || !state.ready) return;
    try {
      const res = await shipper.sync(stopSignal);
      if (res.uploaded.length > 0) uploads.inc(undefined, res.uploaded.length);
      if (res.failed) uploadFailures.inc();
    } catch (err) {
      uploadFailures.inc();
      log("error", `shipper sync failed: ${(err as Error).message}`);
    }
  }

  function scheduleShip(): void {
    if (stopSignal.aborted) return;
    shipTimer = setTimeout(() => {
      shipping = shipOnce().finally(scheduleShip);
    }, opts.shipIntervalMs ?? 30_000);
  }

  return {
    storeApi,
    state,
    client,
    ...(shipper ? { shipper } : {}),
    ready: () => state.ready,
    fatal,

    async start() {
      const retry = opts.startRetryMs ?? 2000;
      if (shipper) {
        for (;;) {
          try {
            const check = checkBlockDurations(await client.blockDurations(stopSignal));
            for (const w of check.warnings) log("warn", w);
            if (check.error && opts.ignoreUnequalBlockSize) log("warn", `${check.error} (ignored: --shipper.ignore-unequal-block-size)`);
            else if (check.error) throw new Error(check.error);
            break;
          } catch (err) {
            if (stopSignal.aborted) return;
            if (/Compaction needs to be disabled/.test((err as Error).message)) {
              resolveFatal(err as Error);
              throw err;
            }
            log("warn", `waiting for Prometheus at ${client.url} (flags): ${(err as Error).message}`);
            await sleep(retry);
          }
        }
      }
      for (;;) {
        try {
          await state.refresh(stopSignal);
          markHeartbeat(true);
          break;
        } catch (err) {
          markHeartbeat(false);
          if (stopSignal.aborted) return;
          if (err instanceof NoExternalLabelsError) {
            resolveFatal(err);
            throw err;
          }
          log("warn", `waiting for Prometheus at ${client.url}: ${(err as Error).message}`);
          await sleep(retry);
        }
      }
      log("info", `Prometheus ${client.url} (version ${state.version}) is ready; external labels ${JSON.stringify(Object.fromEntries(state.externalLabels.map((l) => [l.name, l.value])))}`);
      stopHeartbeat = state.startHeartbeat({
        intervalMs: opts.heartbeatMs ?? 30_000,
        onError: (err) => {
          markHeartbeat(false);
          log("warn", `heartbeat: Prometheus unreachable, not ready: ${err.message}`);
        },
        onFatal: (err) => resolveFatal(err),
      });
      // The heartbeat's success path is silent; sample readiness into the gauge on each scrape.
      metrics.onCollect(() => up.set(state.ready ? 1 : 0));
      if (shipper) shipping = shipOnce().finally(scheduleShip);
    },

    async stop() {
      stopController.abort();
      stopHeartbeat?.();
      if (shipTimer !== undefined) clearTimeout(shipTimer);
      await shipping?.catch(() => {});
    },
  };
}
