/**
 * A StoreAPI client for one endpoint address. `host:port` means native gRPC over h2c (what Thanos
 * components serve); `http://` / `https://` URLs mean Connect, which edge runtimes and browsers can
 * speak. The core only knows fetch-based Connect; the native gRPC transport is injected by the
 * runtime adapter (`src/runtime/node/store-transport.ts`), so this file stays runtime-neutral.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client, Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
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
import { splitHostPort } from "../server/address.ts";
import { fromRawSeriesResponse, RawStore } from "../server/raw-series.ts";
import type { RawStoreService } from "../server/raw-series.ts";
import { TENANT_HEADER } from "../server/store-api.ts";
import type { StoreApi, StoreCallContext } from "../server/store-api.ts";

/** How an endpoint address is dialed. */
export interface EndpointTarget {
  /** `grpc` for `host:port`, `connect` for http(s) URLs. */
  readonly protocol: "grpc" | "connect";
  /** The address as configured (used in warnings and status pages). */
  readonly address: string;
  /** Base URL for the transport: `http://host:port` for gRPC, the URL itself for Connect. */
  readonly baseUrl: string;
}

/** Parses an endpoint address; throws an Error naming it when it is neither `host:port` nor an http(s) URL. */
export function parseEndpointAddress(address: string): EndpointTarget {
  const trimmed = address.trim();
  if (/^https?:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new Error(`invalid endpoint ${JSON.stringify(address)}: not a valid URL`);
    }
    return { protocol: "connect", address: trimmed, baseUrl: url.href.replace(/\/+$/, "") };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new Error(`invalid endpoint ${JSON.stringify(address)}: only host:port (gRPC) and http(s):// URLs (Connect) are supported`);
  }
  if (/^dns(srv|srvnoa|dualstack)?\+/i.test(trimmed)) {
    throw new Error(`invalid endpoint ${JSON.stringify(address)}: DNS discovery prefixes (dns+, dnssrv+) are not supported; list the addresses`);
  }
  let hp;
  try {
    hp = splitHostPort(trimmed);
  } catch (err) {
    throw new Error(`invalid endpoint ${JSON.stringify(address)}: ${(err as Error).message}`);
  }
  if (hp.host === "") throw new Error(`invalid endpoint ${JSON.stringify(address)}: missing host`);
  if (!hp.host.includes(":") && !/^[A-Za-z0-9._-]+$/.test(hp.host)) {
    throw new Error(`invalid endpoint ${JSON.stringify(address)}: bad host ${JSON.stringify(hp.host)}`);
  }
  const host = hp.host.includes(":") ? `[${hp.host}]` : hp.host;
  return { protocol: "grpc", address: trimmed, baseUrl: `http://${host}:${hp.port}` };
}

/** Per-call options of a {@link TransportHandle.series} fast path. */
export interface SeriesCallOptions {
  /** Cancels the call. */
  readonly signal?: AbortSignal;
  /** Request headers (lower-case names): authorization, tenant, configured extras. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A transport plus a way to release its connections. */
export interface TransportHandle {
  readonly transport: Transport;
  /**
   * Optional faster path for binary `thanos.Store/Series` (the Node native gRPC client): same
   * frames, status codes and errors as `transport`. Interceptors do not apply; the store client
   * passes their headers in `opts.headers`.
   */
  readonly series?: (req: SeriesRequest, opts: SeriesCallOptions) => AsyncIterable<SeriesResponse>;
  close(): void;
}

/** Creates the transport for a target; runtime adapters provide one that can dial native gRPC. */
export type StoreTransportFactory = (target: EndpointTarget, interceptors: Interceptor[]) => TransportHandle;

/**
 * The runtime-neutral transport factory: Connect (binary protobuf) over `fetchFn` for http(s)
 * endpoints. Native gRPC targets are rejected with a clear error, since fetch cannot read trailers.
 */
export function createFetchTransportFactory(fetchFn: typeof fetch = globalThis.fetch.bind(globalThis)): StoreTransportFactory {
  return (target, interceptors) => {
    if (target.protocol !== "connect") {
      throw new Error(`endpoint ${target.address}: native gRPC (host:port) is not available in this runtime; use an http(s):// Connect URL`);
    }
    return { transport: createConnectTransport({ baseUrl: target.baseUrl, useBinaryFormat: true, fetch: fetchFn, interceptors }), close() {} };
  };
}

/** Options for {@link createStoreClient}. */
export interface StoreClientOptions {
  /** Creates the transport (defaults to {@link createFetchTransportFactory}). */
  transportFactory?: StoreTransportFactory;
  /** Sent as `Authorization: Bearer <token>` on every call. */
  bearerToken?: string;
  /** Extra headers on every call (e.g. `thanos-tenant`). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Decode Series frames with the fast hand-written codec (default true). Requires a transport
   * using binary protobuf, as both built-in factories do.
   */
  rawSeries?: boolean;
}

/** A StoreAPI client; it is itself a {@link StoreApi}, so a querier can re-serve a remote store. */
export interface StoreClient extends StoreApi {
  readonly target: EndpointTarget;
  /** Info with a deadline (the endpoint probe). */
  info(signal?: AbortSignal, timeoutMs?: number): Promise<InfoResponse>;
  /** `thanos.Store/Series`; `signal` cancels the stream; `call.tenant` is sent as `thanos-tenant`. */
  series(req: SeriesRequest, signal?: AbortSignal, call?: StoreCallContext): AsyncIterable<SeriesResponse>;
  labelNames(req: LabelNamesRequest, signal?: AbortSignal, call?: StoreCallContext): Promise<LabelNamesResponse>;
  labelValues(req: LabelValuesRequest, signal?: AbortSignal, call?: StoreCallContext): Promise<LabelValuesResponse>;
  /** Releases connections; idempotent. In-flight and later calls fail with a Canceled ConnectError. */
  close(): void;
}

function headerInterceptor(bearerToken: string | undefined, headers: Readonly<Record<string, string>> | undefined): Interceptor {
  return (next) => (req) => {
    if (headers) for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
    if (bearerToken !== undefined) req.header.set("authorization", `Bearer ${bearerToken}`);
    return next(req);
  };
}

/** The headers {@link headerInterceptor} sets, for transports' interceptor-less fast paths. */
function staticHeaders(bearerToken: string | undefined, headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers) for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  if (bearerToken !== undefined) out.authorization = `Bearer ${bearerToken}`;
  return out;
}

function callOptions(signal: AbortSignal | undefined, call: StoreCallContext | undefined): { signal?: AbortSignal; headers?: Record<string, string> } {
  return {
    ...(signal ? { signal } : {}),
    ...(call?.tenant ? { headers: { [TENANT_HEADER]: call.tenant } } : {}),
  };
}

async function* decodeRawFrames(frames: AsyncIterable<RawSeriesResponse>): AsyncIterable<SeriesResponse> {
  for await (const f of frames) yield fromRawSeriesResponse(f);
}

async function* failedStream(err: Error): AsyncIterable<SeriesResponse> {
  throw err;
}

/** Creates a StoreAPI client for `address` (see {@link parseEndpointAddress}). */
export function createStoreClient(address: string, opts: StoreClientOptions = {}): StoreClient {
  const target = parseEndpointAddress(address);
  const interceptors: Interceptor[] = [];
  if (opts.bearerToken !== undefined || opts.headers) interceptors.push(headerInterceptor(opts.bearerToken, opts.headers));
  const handle = (opts.transportFactory ?? createFetchTransportFactory())(target, interceptors);
  const store: Client<typeof Store> = createClient(Store, handle.transport);
  const info: Client<typeof Info> = createClient(Info, handle.transport);
  const raw: Client<RawStoreService> | undefined = opts.rawSeries === false ? undefined : createClient(RawStore, handle.transport);
  const fastSeries = opts.rawSeries === false ? undefined : handle.series;
  const fixedHeaders = staticHeaders(opts.bearerToken, opts.headers);
  let closed = false;
  // Calls after close() fail the way calls do (a rejected promise, a stream that throws), never
  // with a synchronous throw a caller chaining .catch() would miss.
  const closedError = (): ConnectError => new ConnectError(`store client for ${target.address} is closed`, Code.Canceled);
  const check = (): void => {
    if (closed) throw closedError();
  };
  return {
    target,
    async info(signal, timeoutMs) {
      check();
      return info.info({}, { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
    },
    series(req: SeriesRequest, signal?: AbortSignal, call?: StoreCallContext): AsyncIterable<SeriesResponse> {
      if (closed) return failedStream(closedError());
      if (fastSeries) {
        const headers = call?.tenant ? { ...fixedHeaders, [TENANT_HEADER]: call.tenant } : fixedHeaders;
        return fastSeries(req, { headers, ...(signal ? { signal } : {}) });
      }
      if (raw) return decodeRawFrames(raw.series(req, callOptions(signal, call)));
      return store.series(req, callOptions(signal, call));
    },
    async labelNames(req: LabelNamesRequest, signal?: AbortSignal, call?: StoreCallContext): Promise<LabelNamesResponse> {
      check();
      return store.labelNames(req, callOptions(signal, call));
    },
    async labelValues(req: LabelValuesRequest, signal?: AbortSignal, call?: StoreCallContext): Promise<LabelValuesResponse> {
      check();
      return store.labelValues(req, callOptions(signal, call));
    },
    // Idempotent; in-flight calls fail with a Canceled ConnectError (the transport aborts them).
    close() {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
}
