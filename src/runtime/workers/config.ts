/**
 * The Worker querier's configuration, read from its bindings (wrangler `vars`, secrets and the R2
 * binding) instead of flags. Names mirror the Node flags (`MERIDIAN_REPLICA_LABELS` is
 * `--query.replica-label`, ...). Every problem is a {@link WorkerConfigError} whose message names
 * the binding, because a Worker has no other place to tell the operator what is wrong.
 */
import { parseBytes } from "../flags.ts";
import { parseDuration } from "../../model/duration.ts";
import { parseEndpointSdConfig, type EndpointSpec } from "../../query/endpoint-config.ts";
import { parseEndpointAddress } from "../../query/store-client.ts";
import type { R2BucketLike } from "../../objstore/r2-bucket.ts";
import { parseObjstoreConfig, type ObjstoreConfig } from "../../objstore/config.ts";

/** The Worker's `env` as Meridian reads it (every field optional; unknown bindings are ignored). */
export interface MeridianWorkerEnv {
  /** Secret: bearer token every caller must send. Required unless `MERIDIAN_PUBLIC` is "true". */
  readonly MERIDIAN_BEARER_TOKEN?: string;
  /** "true" to serve without a token (explicitly public). */
  readonly MERIDIAN_PUBLIC?: string | boolean;
  /** Connect endpoints: a list (JSON/YAML text or a wrangler JSON var) in the `--endpoint.sd-config-file` shapes. */
  readonly MERIDIAN_ENDPOINTS?: unknown;
  /** Secret: bearer token sent to endpoints that carry none of their own. */
  readonly MERIDIAN_ENDPOINT_TOKEN?: string;
  /** R2 bucket with TSDB blocks, served by an in-Worker store gateway. */
  readonly BLOCKS?: R2BucketLike;
  /** Secret: Thanos objstore YAML (type S3) for blocks in S3 or R2's S3 API, read over fetch. */
  readonly MERIDIAN_OBJSTORE_CONFIG?: string;
  readonly MERIDIAN_REPLICA_LABELS?: string;
  readonly MERIDIAN_CORS_ORIGIN?: string;
  readonly MERIDIAN_DEDUP_FUNC?: string;
  readonly MERIDIAN_QUERY_TIMEOUT?: string;
  readonly MERIDIAN_LOOKBACK_DELTA?: string;
  readonly MERIDIAN_QUERY_MAX_SAMPLES?: string | number;
  readonly MERIDIAN_PARTIAL_RESPONSE?: string | boolean;
  readonly MERIDIAN_STORE_RESPONSE_TIMEOUT?: string;
  /** Simultaneous outbound connections (default 6, the platform limit). */
  readonly MERIDIAN_MAX_CONNECTIONS?: string | number;
  /** Bytes of response bodies that may be buffered to free a connection (default 32MB). */
  readonly MERIDIAN_SPILL_BYTES?: string | number;
  /** Index cache of the R2 store gateway (default 16MB). */
  readonly MERIDIAN_INDEX_CACHE_SIZE?: string | number;
  /** Per-request sample limit of the R2 store gateway (default 0 = none). */
  readonly MERIDIAN_STORE_LIMITS_REQUEST_SAMPLES?: string | number;
  /** How often the R2 block list is re-synced (default 15m). */
  readonly MERIDIAN_SYNC_INTERVAL?: string;
  /** How often endpoints are re-probed with Info (default 15s). */
  readonly MERIDIAN_PROBE_INTERVAL?: string;
}

/** Parsed configuration. */
export interface WorkerConfig {
  /** Undefined only when `isPublic`. */
  readonly bearerToken: string | undefined;
  readonly isPublic: boolean;
  readonly endpoints: EndpointSpec[];
  readonly blocks: R2BucketLike | undefined;
  /** Parsed `MERIDIAN_OBJSTORE_CONFIG` (always type S3). */
  readonly objstore: Extract<ObjstoreConfig, { type: "S3" }> | undefined;
  readonly replicaLabels: string[];
  readonly corsOrigins: string[];
  readonly dedupFunc: "penalty" | "chain";
  readonly queryTimeoutMs: number;
  readonly lookbackDeltaMs: number;
  readonly maxSamples: number;
  readonly partialResponse: boolean;
  readonly responseTimeoutMs: number;
  readonly maxConnections: number;
  readonly spillBytes: number;
  readonly indexCacheBytes: number;
  readonly samplesLimit: number;
  readonly syncIntervalMs: number;
  readonly probeIntervalMs: number;
}

/** A configuration problem; the Worker answers 500 with this message. */
export class WorkerConfigError extends Error {
  override name = "WorkerConfigError";
}

function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = String(v).trim();
  return s === "" ? undefined : s;
}

function bool(name: string, v: unknown, dflt: boolean): boolean {
  const s = text(v);
  if (s === undefined) return dflt;
  if (s === "true") return true;
  if (s === "false") return false;
  throw new WorkerConfigError(`${name} must be "true" or "false", got ${JSON.stringify(s)}`);
}

function duration(name: string, v: unknown, dflt: string): number {
  const s = text(v) ?? dflt;
  try {
    return parseDuration(s);
  } catch (err) {
    throw new WorkerConfigError(`${name}: ${(err as Error).message}`);
  }
}

function bytes(name: string, v: unknown, dflt: string): number {
  const s = text(v) ?? dflt;
  try {
    return parseBytes(s);
  } catch (err) {
    throw new WorkerConfigError(`${name}: ${(err as Error).message}`);
  }
}

function int(name: string, v: unknown, dflt: number, min: number): number {
  const s = text(v);
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) throw new WorkerConfigError(`${name} must be an integer >= ${min}, got ${JSON.stringify(s)}`);
  return n;
}

function list(v: unknown): string[] {
  return (text(v) ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
}

function endpoints(raw: unknown): EndpointSpec[] {
  if (raw === undefined || raw === null || raw === "") return [];
  // A wrangler JSON var arrives as an object; text is YAML (JSON is YAML too).
  const source = typeof raw === "string" ? raw : JSON.stringify(raw);
  let specs: EndpointSpec[];
  try {
    specs = parseEndpointSdConfig(source, "MERIDIAN_ENDPOINTS");
  } catch (err) {
    throw new WorkerConfigError((err as Error).message);
  }
  for (const s of specs) {
    if (parseEndpointAddress(s.address).protocol !== "connect") {
      throw new WorkerConfigError(
        `MERIDIAN_ENDPOINTS: ${JSON.stringify(s.address)} is a native gRPC address; Workers cannot dial gRPC (no trailers, no outbound HTTP/2), use the endpoint's http(s):// Connect URL`,
      );
    }
  }
  return specs;
}

function objstore(raw: unknown): Extract<ObjstoreConfig, { type: "S3" }> | undefined {
  const yaml = text(raw);
  if (yaml === undefined) return undefined;
  let cfg: ObjstoreConfig;
  try {
    cfg = parseObjstoreConfig(yaml);
  } catch (err) {
    throw new WorkerConfigError(`MERIDIAN_OBJSTORE_CONFIG: ${(err as Error).message}`);
  }
  if (cfg.type !== "S3") throw new WorkerConfigError(`MERIDIAN_OBJSTORE_CONFIG: type ${cfg.type} is not available on Workers (use S3, or bind R2 as BLOCKS)`);
  return cfg;
}

/** Reads and validates the bindings; throws {@link WorkerConfigError}. */
export function parseWorkerConfig(env: MeridianWorkerEnv): WorkerConfig {
  const isPublic = bool("MERIDIAN_PUBLIC", env.MERIDIAN_PUBLIC, false);
  const bearerToken = text(env.MERIDIAN_BEARER_TOKEN);
  if (bearerToken === undefined && !isPublic) {
    throw new WorkerConfigError(
      "refusing to serve: no MERIDIAN_BEARER_TOKEN secret is set (wrangler secret put MERIDIAN_BEARER_TOKEN); " +
        'set the var MERIDIAN_PUBLIC = "true" to serve without authentication',
    );
  }
  const dedup = text(env.MERIDIAN_DEDUP_FUNC) ?? "penalty";
  if (dedup !== "penalty" && dedup !== "chain") throw new WorkerConfigError(`MERIDIAN_DEDUP_FUNC must be penalty or chain, got ${JSON.stringify(dedup)}`);
  const eps = endpoints(env.MERIDIAN_ENDPOINTS);
  const endpointToken = text(env.MERIDIAN_ENDPOINT_TOKEN);
  const cfg: WorkerConfig = {
    bearerToken,
    isPublic,
    endpoints: endpointToken === undefined ? eps : eps.map((e) => (e.bearerToken === undefined ? { ...e, bearerToken: endpointToken } : e)),
    blocks: env.BLOCKS,
    objstore: objstore(env.MERIDIAN_OBJSTORE_CONFIG),
    replicaLabels: list(env.MERIDIAN_REPLICA_LABELS),
    corsOrigins: list(env.MERIDIAN_CORS_ORIGIN),
    dedupFunc: dedup,
    queryTimeoutMs: duration("MERIDIAN_QUERY_TIMEOUT", env.MERIDIAN_QUERY_TIMEOUT, "2m"),
    lookbackDeltaMs: duration("MERIDIAN_LOOKBACK_DELTA", env.MERIDIAN_LOOKBACK_DELTA, "5m"),
    maxSamples: int("MERIDIAN_QUERY_MAX_SAMPLES", env.MERIDIAN_QUERY_MAX_SAMPLES, 2_000_000, 1),
    partialResponse: bool("MERIDIAN_PARTIAL_RESPONSE", env.MERIDIAN_PARTIAL_RESPONSE, true),
    responseTimeoutMs: duration("MERIDIAN_STORE_RESPONSE_TIMEOUT", env.MERIDIAN_STORE_RESPONSE_TIMEOUT, "0s"),
    maxConnections: int("MERIDIAN_MAX_CONNECTIONS", env.MERIDIAN_MAX_CONNECTIONS, 6, 1),
    spillBytes: bytes("MERIDIAN_SPILL_BYTES", env.MERIDIAN_SPILL_BYTES, "32MB"),
    indexCacheBytes: bytes("MERIDIAN_INDEX_CACHE_SIZE", env.MERIDIAN_INDEX_CACHE_SIZE, "16MB"),
    samplesLimit: int("MERIDIAN_STORE_LIMITS_REQUEST_SAMPLES", env.MERIDIAN_STORE_LIMITS_REQUEST_SAMPLES, 0, 0),
    syncIntervalMs: duration("MERIDIAN_SYNC_INTERVAL", env.MERIDIAN_SYNC_INTERVAL, "15m"),
    probeIntervalMs: duration("MERIDIAN_PROBE_INTERVAL", env.MERIDIAN_PROBE_INTERVAL, "15s"),
  };
  if (cfg.endpoints.length === 0 && cfg.blocks === undefined && cfg.objstore === undefined) {
    throw new WorkerConfigError("nothing to query: set MERIDIAN_ENDPOINTS (Connect URLs), bind an R2 bucket as BLOCKS and/or set MERIDIAN_OBJSTORE_CONFIG");
  }
  return cfg;
}
