/**
 * Node's StoreAPI transport factory: native gRPC over h2c (connect-node, one HTTP/2 session per
 * endpoint with keepalive pings every 15 s and a 5 s timeout; Thanos servers reject pings more
 * often than every 10 s) for `host:port` endpoints, and the
 * core's fetch-based Connect transport for http(s) URLs.
 */
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createFetchTransportFactory } from "../../query/store-client.ts";
import type { StoreTransportFactory } from "../../query/store-client.ts";

/** Creates the Node transport factory; `fetchFn` serves Connect endpoints (default: global fetch). */
export function createNodeTransportFactory(fetchFn?: typeof fetch): StoreTransportFactory {
  const connect = createFetchTransportFactory(fetchFn);
  return (target, interceptors) => {
    if (target.protocol === "connect") return connect(target, interceptors);
    const sessionManager = new Http2SessionManager(target.baseUrl, { pingIntervalMs: 15_000, pingTimeoutMs: 5_000 });
    // No compression offered (Thanos' default is none): on loopback and in-datacenter links gzip
    // costs far more CPU than it saves, and Thanos' snappy is not available in connect-node.
    const transport = createGrpcTransport({ baseUrl: target.baseUrl, sessionManager, interceptors, acceptCompression: [] });
    return { transport, close: () => sessionManager.abort() };
  };
}
