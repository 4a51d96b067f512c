/**
 * The Worker's bindings → configuration: the token rule, every accepted endpoint shape (wrangler
 * JSON var, JSON/YAML text, Thanos SD shape), the endpoint token default, defaults, and errors that
 * name the binding.
 */
import { describe, expect, it } from "vitest";
import { parseWorkerConfig, WorkerConfigError, type MeridianWorkerEnv } from "./config.ts";

const base: MeridianWorkerEnv = { MERIDIAN_BEARER_TOKEN: "t", MERIDIAN_ENDPOINTS: '["https://a.example"]' };

function fails(env: MeridianWorkerEnv, message: RegExp): void {
  let err: unknown;
  try {
    parseWorkerConfig(env);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(WorkerConfigError);
  expect(String((err as Error).message)).toMatch(message);
}

describe("parseWorkerConfig", () => {
  it("requires a token unless MERIDIAN_PUBLIC is true", () => {
    fails({ MERIDIAN_ENDPOINTS: '["https://a"]' }, /refusing to serve: no MERIDIAN_BEARER_TOKEN secret is set/);
    fails({ MERIDIAN_ENDPOINTS: '["https://a"]', MERIDIAN_BEARER_TOKEN: "  " }, /no MERIDIAN_BEARER_TOKEN/);
    fails({ MERIDIAN_ENDPOINTS: '["https://a"]', MERIDIAN_PUBLIC: "yes" }, /MERIDIAN_PUBLIC must be "true" or "false"/);
    const open = parseWorkerConfig({ MERIDIAN_ENDPOINTS: '["https://a"]', MERIDIAN_PUBLIC: true });
    expect(open.isPublic).toBe(true);
    expect(open.bearerToken).toBeUndefined();
    expect(parseWorkerConfig(base).bearerToken).toBe("t");
  });

  it("accepts endpoints as a wrangler JSON var, JSON or YAML text, and the Thanos SD shape", () => {
    const shapes: unknown[] = [
      ["https://a.example", { address: "http://b.example:10902", strict: true }],
      '["https://a.example", {"address": "http://b.example:10902", "strict": true}]',
      "- https://a.example\n- address: http://b.example:10902\n  strict: true\n",
      { endpoints: [{ address: "https://a.example" }, { address: "http://b.example:10902", strict: true }] },
    ];
    for (const MERIDIAN_ENDPOINTS of shapes) {
      const cfg = parseWorkerConfig({ MERIDIAN_BEARER_TOKEN: "t", MERIDIAN_ENDPOINTS });
      expect(cfg.endpoints).toEqual([{ address: "https://a.example" }, { address: "http://b.example:10902", strict: true }]);
    }
  });

  it("sends MERIDIAN_ENDPOINT_TOKEN to endpoints without their own token", () => {
    const cfg = parseWorkerConfig({ ...base, MERIDIAN_ENDPOINTS: [{ address: "https://a" }, { address: "https://b", bearer_token: "own" }], MERIDIAN_ENDPOINT_TOKEN: "shared" });
    expect(cfg.endpoints.map((e) => e.bearerToken)).toEqual(["shared", "own"]);
  });

  it("refuses native gRPC endpoints and bad entries, naming MERIDIAN_ENDPOINTS", () => {
    fails({ ...base, MERIDIAN_ENDPOINTS: '["10.0.0.1:10901"]' }, /MERIDIAN_ENDPOINTS: "10\.0\.0\.1:10901" is a native gRPC address/);
    fails({ ...base, MERIDIAN_ENDPOINTS: '[{"adress": "https://a"}]' }, /MERIDIAN_ENDPOINTS: .*unknown field "adress"/);
    fails({ ...base, MERIDIAN_ENDPOINTS: "[unclosed" }, /MERIDIAN_ENDPOINTS: invalid YAML/);
  });

  it("reads MERIDIAN_OBJSTORE_CONFIG (S3 only) and names it in errors", () => {
    const cfg = parseWorkerConfig({ MERIDIAN_BEARER_TOKEN: "t", MERIDIAN_OBJSTORE_CONFIG: "type: S3\nconfig:\n  bucket: blocks\n  endpoint: acc.r2.cloudflarestorage.com\n  region: auto\n  access_key: k\n  secret_key: s\nprefix: eu\n" });
    expect(cfg.objstore?.s3).toMatchObject({ bucket: "blocks", endpoint: "acc.r2.cloudflarestorage.com", region: "auto", accessKey: "k", secretKey: "s" });
    expect(cfg.objstore?.prefix).toBe("eu");
    fails({ MERIDIAN_BEARER_TOKEN: "t", MERIDIAN_OBJSTORE_CONFIG: "type: FILESYSTEM\nconfig:\n  directory: /x\n" }, /MERIDIAN_OBJSTORE_CONFIG: type FILESYSTEM is not available on Workers/);
    fails({ MERIDIAN_BEARER_TOKEN: "t", MERIDIAN_OBJSTORE_CONFIG: "type: GCS\n" }, /^MERIDIAN_OBJSTORE_CONFIG: /);
  });

  it("needs something to query", () => {
    fails({ MERIDIAN_BEARER_TOKEN: "t" }, /nothing to query: set MERIDIAN_ENDPOINTS .*, bind an R2 bucket as BLOCKS and\/or set MERIDIAN_OBJSTORE_CONFIG/);
  });

  it("applies edge-sized defaults and parses durations, sizes and lists", () => {
    const d = parseWorkerConfig(base);
    expect(d).toMatchObject({
      dedupFunc: "penalty", queryTimeoutMs: 120_000, lookbackDeltaMs: 300_000, maxSamples: 2_000_000, partialResponse: true,
      maxConnections: 6, spillBytes: 32 * 1024 * 1024, indexCacheBytes: 16 * 1024 * 1024, syncIntervalMs: 900_000, probeIntervalMs: 15_000,
      replicaLabels: [], corsOrigins: [],
    });
    const c = parseWorkerConfig({
      ...base, MERIDIAN_REPLICA_LABELS: "replica, rule_replica", MERIDIAN_CORS_ORIGIN: "https://x.example,https://y.example",
      MERIDIAN_QUERY_TIMEOUT: "30s", MERIDIAN_MAX_CONNECTIONS: 4, MERIDIAN_SPILL_BYTES: "8MiB", MERIDIAN_DEDUP_FUNC: "chain", MERIDIAN_PARTIAL_RESPONSE: "false",
    });
    expect(c).toMatchObject({ replicaLabels: ["replica", "rule_replica"], corsOrigins: ["https://x.example", "https://y.example"], queryTimeoutMs: 30_000, maxConnections: 4, spillBytes: 8 * 1024 * 1024, dedupFunc: "chain", partialResponse: false });
  });

  it("names the binding of a bad value", () => {
    fails({ ...base, MERIDIAN_QUERY_TIMEOUT: "soon" }, /^MERIDIAN_QUERY_TIMEOUT: /);
    fails({ ...base, MERIDIAN_MAX_CONNECTIONS: "0" }, /MERIDIAN_MAX_CONNECTIONS must be an integer >= 1, got "0"/);
    fails({ ...base, MERIDIAN_SPILL_BYTES: "lots" }, /^MERIDIAN_SPILL_BYTES: /);
    fails({ ...base, MERIDIAN_DEDUP_FUNC: "x" }, /MERIDIAN_DEDUP_FUNC must be penalty or chain, got "x"/);
  });
});
