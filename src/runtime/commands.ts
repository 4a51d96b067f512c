/**
 * The components Meridian runs and their flags. Names follow Thanos wherever a Thanos user would
 * look for them, so existing deployments carry over. Runtime adapters (Node CLI, Deno entry) read
 * these definitions; the components themselves receive parsed values.
 */
import type { CommandSpec, FlagSpec } from "./flags.ts";

const common: FlagSpec[] = [
  { name: "http-address", kind: "string", default: "0.0.0.0:10902", help: "Listen host:port for HTTP endpoints (Prometheus API, Connect, gRPC-Web, UI, /metrics)." },
  { name: "grpc-address", kind: "string", default: "0.0.0.0:10901", help: "Listen host:port for native gRPC (h2c) StoreAPI, for Thanos queriers and grpc-go clients." },
  { name: "log.level", kind: "string", default: "info", help: "Log filtering level: debug, info, warn, error." },
  { name: "http.bearer-token-file", kind: "string", help: "File holding a bearer token; when set, every API call must carry it." },
  { name: "web.cors-origin", kind: "string", help: "Origin allowed to call the Connect endpoints from browsers (CORS); off when empty." },
  { name: "http.tls-cert-file", kind: "string", help: "PEM certificate (chain) for serving HTTPS on --http-address; needs --http.tls-key-file." },
  { name: "http.tls-key-file", kind: "string", help: "PEM private key for --http.tls-cert-file." },
  { name: "grpc-server-tls-cert", kind: "string", help: "PEM certificate (chain) for serving gRPC over TLS on --grpc-address; needs --grpc-server-tls-key." },
  { name: "grpc-server-tls-key", kind: "string", help: "PEM private key for --grpc-server-tls-cert." },
];

const objstore: FlagSpec[] = [
  { name: "objstore.config-file", kind: "string", help: "Path to YAML bucket configuration (type: S3|FILESYSTEM), as in Thanos." },
  { name: "objstore.config", kind: "string", help: "Bucket configuration as inline YAML; alternative to --objstore.config-file." },
];

/** `meridian store`: the store gateway over blocks in object storage. */
export const storeCommand: CommandSpec = {
  name: "store",
  summary: "Store gateway: serves the StoreAPI over TSDB blocks in object storage.",
  flags: [
    ...common,
    ...objstore,
    { name: "data-dir", kind: "string", default: "./data", help: "Local directory for index-header caches." },
    { name: "sync-block-duration", kind: "duration", default: "15m", help: "How often to re-sync blocks from the bucket." },
    { name: "index-cache-size", kind: "bytes", default: "250MB", help: "Maximum size of the in-memory postings and series cache." },
    { name: "store.limits.request-series", kind: "int", default: "0", help: "Maximum series one Series call may touch; 0 is no limit." },
    { name: "store.limits.request-samples", kind: "int", default: "0", help: "Maximum samples one Series call may touch; 0 is no limit." },
    { name: "store.grpc.series-max-concurrency", kind: "int", default: "20", help: "Maximum concurrent Series calls." },
    { name: "block-sync-concurrency", kind: "int", default: "20", help: "Number of blocks listed and loaded (index-header built) in parallel during a sync." },
  ],
};

/** `meridian query`: the querier with fan-out, deduplication and the Prometheus HTTP API. */
export const queryCommand: CommandSpec = {
  name: "query",
  summary: "Querier: fans out to StoreAPI endpoints, deduplicates HA replicas and answers PromQL over the Prometheus HTTP API.",
  flags: [
    ...common,
    { name: "endpoint", kind: "strings", help: "StoreAPI endpoint: host:port for gRPC, http(s):// URL for Connect." },
    { name: "endpoint.sd-config-file", kind: "string", help: "YAML file listing endpoints; reloaded on change." },
    { name: "query.replica-label", kind: "strings", help: "Label that tells HA replicas apart; series differing only in it are deduplicated." },
    { name: "query.timeout", kind: "duration", default: "2m", help: "Maximum time to process a query." },
    { name: "query.max-samples", kind: "int", default: "50000000", help: "Maximum samples a query may hold in memory." },
    { name: "query.lookback-delta", kind: "duration", default: "5m", help: "How far back to look for a sample when evaluating an instant selector." },
    { name: "query.partial-response", kind: "bool", default: "true", help: "Answer with warnings when some stores fail." },
    { name: "deduplication.func", kind: "string", default: "penalty", help: "Deduplication algorithm: penalty or chain." },
    { name: "store.response-timeout", kind: "duration", default: "0ms", help: "How long one store may be silent before it is dropped from the query; 0 disables." },
  ],
};

/** `meridian sidecar`: next to a Prometheus, StoreAPI over remote read plus the block shipper. */
export const sidecarCommand: CommandSpec = {
  name: "sidecar",
  summary: "Sidecar: serves a Prometheus through the StoreAPI and ships its blocks to object storage.",
  flags: [
    ...common,
    ...objstore,
    { name: "prometheus.url", kind: "string", default: "http://localhost:9090", help: "URL of the Prometheus to serve." },
    { name: "tsdb.path", kind: "string", default: "./data", help: "Prometheus' TSDB directory, for shipping blocks." },
    { name: "shipper.upload-compacted", kind: "bool", default: "false", help: "Also upload compacted blocks (level > 1)." },
    { name: "shipper.ignore-unequal-block-size", kind: "bool", default: "false", hidden: true, help: "Only warn (instead of refusing to start) when Prometheus' min and max block durations differ." },
  ],
};

/** `meridian demo`: the one-command global view on embedded defaults (what `npm start` runs). */
export const demoCommand: CommandSpec = {
  name: "demo",
  summary: "Writes 24 h of demo blocks (two regions x two HA replicas) to a local bucket and serves a store gateway and a querier with the UI over them.",
  flags: [
    { name: "http-address", kind: "string", default: "localhost:10902", help: "Listen host:port for the querier's HTTP API and UI." },
    { name: "data-dir", kind: "string", default: "./data/demo", help: "Where the demo bucket and caches live (rewritten on every start)." },
    { name: "prometheus.url", kind: "string", default: "http://localhost:9090", help: "A Prometheus to add through a sidecar when it answers there." },
    { name: "log.level", kind: "string", default: "info", help: "Log filtering level: debug, info, warn, error." },
  ],
};

/** Every component, in the order `--help` lists them. */
export const commands: readonly CommandSpec[] = [storeCommand, queryCommand, sidecarCommand, demoCommand];
