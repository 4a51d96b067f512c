/**
 * Node's StoreAPI transport factory: native gRPC over h2c (connect-node, one HTTP/2 session per
 * endpoint) for `host:port` endpoints, and the core's fetch-based Connect transport for http(s)
 * URLs. Binary Series calls skip Connect's stream layers (grpc-series-client.ts) on the same
 * sessions. Sessions ping every 15 s with a 5 s timeout (Thanos servers reject pings more often than
 * every 10 s) and get large flow-control windows: with HTTP/2's default 64 KiB connection window a
 * querier 100 ms away from a store could receive only ~640 KiB/s, whatever the bandwidth.
 */
import type http2 from "node:http2";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import type { SeriesResponse } from "../../gen/store/storepb/rpc_pb.ts";
import { createGrpcSeriesCall } from "./grpc-series-client.ts";
import { createFetchTransportFactory } from "../../query/store-client.ts";
import type { EndpointTarget, StoreTransportFactory, TransportHandle } from "../../query/store-client.ts";

/** Receive window per stream and per connection (bytes). */
export const STORE_CLIENT_WINDOW_BYTES = 16 << 20;

/** The part of connect-node's (private) session-manager state this file looks at. */
interface ManagerState {
  readonly t: string;
  readonly conn?: unknown;
}

/** Swallows a session's late 'error' event; see {@link guardSession}. */
function ignoreSessionError(): void {
  // Deliberately empty: the manager (while it still listens) and the streams report the failure.
}

/**
 * Gives a session a permanent 'error' listener. connect-node's manager detaches its own listener
 * when it leaves the session's state, but Node emits a destroyed session's 'error' only once the
 * socket has ended, a tick or more later. A store's GOAWAY makes the manager destroy an idle
 * session ("received GOAWAY without any open streams"); a request or an abort() in that window
 * detaches the listener, and the late 'error' event then killed the whole querier process.
 */
function guardSession(session: http2.Http2Session, guarded: WeakSet<http2.Http2Session>): void {
  if (guarded.has(session)) return;
  guarded.add(session);
  session.on("error", ignoreSessionError);
}

/**
 * An HTTP/2 session manager whose sessions get a {@link STORE_CLIENT_WINDOW_BYTES} connection
 * window (Node offers no connect option for it, so it is raised on the session of the first stream),
 * and whose sessions can never raise an unhandled 'error' event (see {@link guardSession}).
 */
export class WideWindowSessionManager extends Http2SessionManager {
  private readonly tuned = new WeakSet<http2.Http2Session>();
  private readonly guarded = new WeakSet<http2.Http2Session>();
  /** The newest session: the one that last became ready or carried a request (tests and diagnostics). */
  lastSession: http2.Http2Session | undefined;

  constructor(url: string) {
    super(url, { pingIntervalMs: 15_000, pingTimeoutMs: 5_000 }, {
      settings: { initialWindowSize: STORE_CLIENT_WINDOW_BYTES },
      maxSessionMemory: 256, // MiB; the default 10 MiB can refuse streams under heavy fan-out
    });
    // Every session passes through the manager's (private) setState as it becomes "ready"; guarding
    // it there also covers sessions that never carried a stream of ours. If connect-node renames the
    // method, fail loudly here rather than lose the guard silently.
    const self = this as unknown as { setState?: (state: ManagerState) => void };
    const setState = self.setState;
    if (typeof setState !== "function") {
      throw new Error("@connectrpc/connect-node Http2SessionManager has no setState: WideWindowSessionManager needs updating");
    }
    self.setState = (state: ManagerState): void => {
      if (state.t === "ready" && state.conn) {
        const session = state.conn as http2.Http2Session;
        guardSession(session, this.guarded);
        this.lastSession = session;
      }
      setState.call(this, state);
    };
  }

  override async request(method: string, path: string, headers: http2.OutgoingHttpHeaders, options: Omit<http2.ClientSessionRequestOptions, "signal">): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session) guardSession(session, this.guarded);
    if (session && !this.tuned.has(session)) {
      this.tuned.add(session);
      session.setLocalWindowSize(STORE_CLIENT_WINDOW_BYTES);
    }
    this.lastSession = session;
    return stream;
  }
}

/** A native gRPC transport handle with its session manager (tests and diagnostics look at it). */
export interface GrpcTransportHandle extends TransportHandle {
  readonly sessionManager: WideWindowSessionManager;
}

/**
 * Creates the native gRPC (h2c) transport for one `host:port` target. `close()` aborts the
 * session, failing in-flight calls with a Canceled ConnectError; calling it again does nothing.
 */
export function createGrpcTransportHandle(target: EndpointTarget, interceptors: Interceptor[]): GrpcTransportHandle {
  const sessionManager = new WideWindowSessionManager(target.baseUrl);
  // No compression offered (Thanos' default is none): on loopback and in-datacenter links gzip
  // costs far more CPU than it saves, and Thanos' snappy is not available in connect-node.
  const transport = createGrpcTransport({ baseUrl: target.baseUrl, sessionManager, interceptors, acceptCompression: [] });
  const series = createGrpcSeriesCall(sessionManager);
  let closed = false;
  return {
    transport,
    sessionManager,
    series(req, opts) {
      if (closed) return failed(new ConnectError("transport closed", Code.Canceled));
      return series(req, opts);
    },
    close() {
      if (closed) return;
      closed = true;
      sessionManager.abort();
    },
  };
}

async function* failed(err: Error): AsyncIterable<SeriesResponse> {
  throw err;
}

/** Creates the Node transport factory; `fetchFn` serves Connect endpoints (default: global fetch). */
export function createNodeTransportFactory(fetchFn?: typeof fetch): StoreTransportFactory {
  const connect = createFetchTransportFactory(fetchFn);
  return (target, interceptors) => (target.protocol === "connect" ? connect(target, interceptors) : createGrpcTransportHandle(target, interceptors));
}
