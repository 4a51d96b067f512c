/**
 * The StoreAPI as one TypeScript interface that the sidecar, store gateway and querier implement,
 * and its registration on a Connect router (`thanos.Store` + `thanos.info.Info`). The same router
 * serves native gRPC on Node and Connect/gRPC-Web through a fetch handler on every runtime.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter } from "@connectrpc/connect";
import { Info } from "../gen/info/infopb/rpc_pb.ts";
import type { InfoResponse } from "../gen/info/infopb/rpc_pb.ts";
import { Store } from "../gen/store/storepb/rpc_pb.ts";
import type {
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  SeriesRequest,
  SeriesResponse,
} from "../gen/store/storepb/rpc_pb.ts";
import type { RawSeriesResponse } from "../gen/meridian/rawpb/raw_pb.ts";
import { MatcherError } from "../model/matcher.ts";
import { RawStore, toRawSeriesResponse } from "./raw-series.ts";

/** Per-call metadata a StoreApi may use (implementations can ignore it). */
export interface StoreCallContext {
  /** Tenant from the `thanos-tenant` request header; a proxy forwards it downstream unchanged. */
  readonly tenant?: string;
}

/** The gRPC metadata / HTTP header carrying the tenant (Thanos). */
export const TENANT_HEADER = "thanos-tenant";

/** A StoreAPI component (what Thanos calls a store: sidecar, store gateway, querier). */
export interface StoreApi {
  /** `thanos.info.Info/Info`: component type, external label sets, time range. */
  info(signal?: AbortSignal): Promise<InfoResponse>;
  /** `thanos.Store/Series`: frames sorted by labels (StoreAPI contract). */
  series(req: SeriesRequest, signal: AbortSignal, call?: StoreCallContext): AsyncIterable<SeriesResponse>;
  /** `thanos.Store/LabelNames`. */
  labelNames(req: LabelNamesRequest, signal: AbortSignal, call?: StoreCallContext): Promise<LabelNamesResponse>;
  /** `thanos.Store/LabelValues`. */
  labelValues(req: LabelValuesRequest, signal: AbortSignal, call?: StoreCallContext): Promise<LabelValuesResponse>;
}

function callContext(header: Headers): StoreCallContext {
  const tenant = header.get(TENANT_HEADER);
  return tenant ? { tenant } : {};
}

/** Options for {@link registerStoreApi}. */
export interface RegisterStoreApiOptions {
  /**
   * Readiness: while it returns false, Info answers `Unavailable` "Not ready", which makes Thanos
   * and Meridian queriers treat the endpoint as unhealthy (as Thanos components do before their
   * first sync).
   */
  ready?: () => boolean;
  /**
   * Serve Series through the fast hand-written codec (raw-series.ts). Only valid on a router that
   * receives binary protobuf requests: JSON clients must be routed to a router without it.
   */
  rawSeries?: boolean;
}

/**
 * Maps any error thrown by an implementation to a ConnectError: ConnectErrors pass through, matcher
 * errors become InvalidArgument, aborted calls Canceled, everything else Internal (with its message,
 * so the caller's warning says what broke).
 */
export function toConnectError(err: unknown, signal?: AbortSignal): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof MatcherError) return new ConnectError(err.message, Code.InvalidArgument);
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof ConnectError) return reason;
    return new ConnectError(reason instanceof Error ? reason.message : "operation canceled", Code.Canceled);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ConnectError(message, Code.Internal, undefined, undefined, err);
}

async function* mapStreamErrors<T>(it: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  try {
    yield* it;
  } catch (err) {
    throw toConnectError(err, signal);
  }
}

async function* rawFrames(it: AsyncIterable<SeriesResponse>): AsyncIterable<RawSeriesResponse> {
  for await (const f of it) yield toRawSeriesResponse(f);
}

async function mapErrors<T>(p: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await p();
  } catch (err) {
    throw toConnectError(err, signal);
  }
}

/** Registers `thanos.Store` (Series, LabelNames, LabelValues) and `thanos.info.Info` for `api`. */
export function registerStoreApi(router: ConnectRouter, api: StoreApi, opts: RegisterStoreApiOptions = {}): void {
  if (opts.rawSeries) {
    // Methods one by one: router.service() would also add a second handler for Series' path.
    router.rpc(RawStore.method.series, (req, ctx) => rawFrames(mapStreamErrors(api.series(req, ctx.signal, callContext(ctx.requestHeader)), ctx.signal)));
    router.rpc(Store.method.labelNames, (req, ctx) => mapErrors(() => api.labelNames(req, ctx.signal, callContext(ctx.requestHeader)), ctx.signal));
    router.rpc(Store.method.labelValues, (req, ctx) => mapErrors(() => api.labelValues(req, ctx.signal, callContext(ctx.requestHeader)), ctx.signal));
  } else {
    router.service(Store, {
      series: (req, ctx) => mapStreamErrors(api.series(req, ctx.signal, callContext(ctx.requestHeader)), ctx.signal),
      labelNames: (req, ctx) => mapErrors(() => api.labelNames(req, ctx.signal, callContext(ctx.requestHeader)), ctx.signal),
      labelValues: (req, ctx) => mapErrors(() => api.labelValues(req, ctx.signal, callContext(ctx.requestHeader)), ctx.signal),
    });
  }
  router.service(Info, {
    info: (_req, ctx) => {
      if (opts.ready && !opts.ready()) throw new ConnectError("Not ready", Code.Unavailable);
      return mapErrors(() => api.info(ctx.signal), ctx.signal);
    },
  });
}
