/**
 * Node's StoreAPI transport factory: native gRPC over h2c (connect-node, one HTTP/2 session per
 * endpoint) for `host:port` endpoints, and the core's fetch-based Connect transport for http(s)
 * URLs. Sessions ping every 15 s with a 5 s timeout (Thanos servers reject pings more often than
 * every 10 s) and get large flow-control windows: with HTTP/2's default 64 KiB connection window a
 * querier 100 ms away from a store could receive only ~640 KiB/s, whatever the bandwidth.
 */
import type http2 from "node:http2";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createFetchTransportFactory } from "../../query/store-client.ts";
import type { StoreTransportFactory } from "../../query/store-client.ts";

/** Receive window per stream and per connection (bytes). */
export const STORE_CLIENT_WINDOW_BYTES = 16 << 20;

/**
 * An HTTP/2 session manager whose sessions get a {@link STORE_CLIENT_WINDOW_BYTES} connection
 * window (Node offers no connect option for it, so it is raised on the session of the first stream).
 */
export class WideWindowSessionManager extends Http2SessionManager {
  private readonly tuned = new WeakSet<http2.Http2Session>();
  /** The session of the latest request (for tests and diagnostics). */
  lastSession: http2.Http2Session | undefined;

  constructor(url: string) {
    super(url, { pingIntervalMs: 15_000, pingTimeoutMs: 5_000 }, {
      settings: { initialWindowSize: STORE_CLIENT_WINDOW_BYTES },
      maxSessionMemory: 256, // MiB; the default 10 MiB can refuse streams under heavy fan-out
    });
  }

  override async request(method: string, path: string, headers: http2.OutgoingHttpHeaders, options: Omit<http2.ClientSessionRequestOptions, "signal">): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !this.tuned.has(session)) {
      this.tuned.add(session);
      session.setLocalWindowSize(STORE_CLIENT_WINDOW_BYTES);
    }
    this.lastSession = session;
    return stream;
  }
}

/** Creates the Node transport factory; `fetchFn` serves Connect endpoints (default: global fetch). */
export function createNodeTransportFactory(fetchFn?: typeof fetch): StoreTransportFactory {
  const connect = createFetchTransportFactory(fetchFn);
  return (target, interceptors) => {
    if (target.protocol === "connect") return connect(target, interceptors);
    const sessionManager = new WideWindowSessionManager(target.baseUrl);
    // No compression offered (Thanos' default is none): on loopback and in-datacenter links gzip
    // costs far more CPU than it saves, and Thanos' snappy is not available in connect-node.
    const transport = createGrpcTransport({ baseUrl: target.baseUrl, sessionManager, interceptors, acceptCompression: [] });
    return { transport, close: () => sessionManager.abort() };
  };
}
