/**
 * Thanos bucket configuration (`--objstore.config-file` / `--objstore.config`), parsed so an
 * existing Thanos YAML works unchanged:
 *
 * ```yaml
 * type: S3            # or FILESYSTEM (case-insensitive)
 * prefix: optional/sub/dir
 * config:
 *   bucket: thanos
 *   endpoint: 127.0.0.1:9000
 * ```
 * Unknown types and fields, and missing required fields, are errors that name them.
 */
import { parse as parseYaml } from "yaml";
import type { Bucket } from "./bucket.ts";
import { withPrefix } from "./prefixed-bucket.ts";
import { createS3Bucket, type S3BucketConfig } from "./s3-bucket.ts";

/** A parsed bucket configuration. `ignored` lists accepted Thanos fields Meridian does not act on. */
export type ObjstoreConfig =
  | { readonly type: "FILESYSTEM"; readonly directory: string; readonly prefix: string; readonly ignored: readonly string[] }
  | { readonly type: "S3"; readonly s3: S3BucketConfig; readonly prefix: string; readonly ignored: readonly string[] };

/** Raised for invalid bucket configuration; the message names the offending field or type. */
export class ObjstoreConfigError extends Error {
  override name = "ObjstoreConfigError";
}

const TOP_LEVEL = new Set(["type", "config", "prefix"]);
const FS_FIELDS = new Set(["directory"]);
/** S3 fields Meridian implements. */
const S3_FIELDS = new Set([
  "bucket", "endpoint", "region", "access_key", "secret_key", "session_token", "insecure", "bucket_lookup_type", "max_retries", "prefix", "part_size",
]);
/** Thanos S3 fields accepted for compatibility but without effect here (reported in `ignored`). */
const S3_IGNORED = new Set([
  "aws_sdk_auth", "signature_version2", "put_user_metadata", "http_config", "trace", "list_objects_version",
  "send_content_md5", "disable_multipart", "sse_config", "sts_endpoint",
]);

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ObjstoreConfigError(`${what} must be a mapping`);
  return value as Record<string, unknown>;
}

function str(rec: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = rec[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" && typeof v !== "number") throw new ObjstoreConfigError(`${where}: field ${key} must be a string`);
  return String(v);
}

function required(rec: Record<string, unknown>, key: string, where: string): string {
  const v = str(rec, key, where);
  if (!v) throw new ObjstoreConfigError(`${where}: missing required field ${key}`);
  return v;
}

function checkFields(rec: Record<string, unknown>, known: ReadonlySet<string>, ignoredKnown: ReadonlySet<string>, where: string): string[] {
  const ignored: string[] = [];
  for (const key of Object.keys(rec)) {
    if (known.has(key)) continue;
    if (ignoredKnown.has(key)) ignored.push(key);
    else throw new ObjstoreConfigError(`${where}: unknown field ${key}`);
  }
  return ignored;
}

/** Parses a Thanos objstore YAML document. */
export function parseObjstoreConfig(yamlText: string): ObjstoreConfig {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (err) {
    throw new ObjstoreConfigError(`objstore config: invalid YAML: ${(err as Error).message}`);
  }
  const top = asRecord(doc, "objstore config");
  checkFields(top, TOP_LEVEL, new Set(), "objstore config");
  const rawType = str(top, "type", "objstore config");
  if (!rawType) throw new ObjstoreConfigError("objstore config: missing required field type");
  const type = rawType.toUpperCase();
  const prefix = str(top, "prefix", "objstore config") ?? "";
  const cfg = asRecord(top.config, "objstore config: config");
  switch (type) {
    case "FILESYSTEM": {
      const ignored = checkFields(cfg, FS_FIELDS, new Set(), "FILESYSTEM config");
      return { type, directory: required(cfg, "directory", "FILESYSTEM config"), prefix, ignored };
    }
    case "S3": {
      const where = "S3 config";
      const ignored = checkFields(cfg, S3_FIELDS, S3_IGNORED, where);
      const lookupRaw = cfg.bucket_lookup_type;
      const lookup = lookupRaw === undefined || lookupRaw === 0 ? "auto" : lookupRaw === 1 ? "virtual-hosted" : lookupRaw === 2 ? "path" : String(lookupRaw);
      if (lookup !== "auto" && lookup !== "path" && lookup !== "virtual-hosted") {
        throw new ObjstoreConfigError(`${where}: bucket_lookup_type must be auto, path or virtual-hosted, got ${JSON.stringify(lookupRaw)}`);
      }
      const insecure = cfg.insecure;
      if (insecure !== undefined && typeof insecure !== "boolean") throw new ObjstoreConfigError(`${where}: field insecure must be true or false`);
      const maxRetries = cfg.max_retries;
      if (maxRetries !== undefined && (typeof maxRetries !== "number" || !Number.isInteger(maxRetries) || maxRetries < 0)) {
        throw new ObjstoreConfigError(`${where}: field max_retries must be a non-negative integer`);
      }
      const partSize = cfg.part_size;
      if (partSize !== undefined && (typeof partSize !== "number" || !Number.isInteger(partSize) || partSize <= 0)) {
        throw new ObjstoreConfigError(`${where}: field part_size must be a positive integer (bytes)`);
      }
      const accessKey = str(cfg, "access_key", where);
      const secretKey = str(cfg, "secret_key", where);
      if (!!accessKey !== !!secretKey) {
        throw new ObjstoreConfigError(`${where}: missing required field ${accessKey ? "secret_key" : "access_key"} (access_key and secret_key go together)`);
      }
      const s3: S3BucketConfig = {
        bucket: required(cfg, "bucket", where),
        endpoint: required(cfg, "endpoint", where),
        region: str(cfg, "region", where),
        accessKey,
        secretKey,
        sessionToken: str(cfg, "session_token", where),
        insecure: insecure ?? false,
        bucketLookupType: lookup,
        prefix: str(cfg, "prefix", where),
        maxAttempts: maxRetries === undefined ? undefined : maxRetries + 1,
        partSize: partSize as number | undefined,
      };
      return { type, s3, prefix, ignored };
    }
    default:
      throw new ObjstoreConfigError(`objstore config: unsupported bucket type ${JSON.stringify(rawType)} (supported: S3, FILESYSTEM)`);
  }
}

/** Runtime-specific constructors the core cannot provide (local files need a runtime adapter). */
export interface BucketAdapters {
  readonly filesystem?: (directory: string) => Bucket;
}

/** Creates the bucket a parsed config describes, applying the top-level `prefix`. */
export function createBucketFromConfig(config: ObjstoreConfig, adapters: BucketAdapters = {}): Bucket {
  let bucket: Bucket;
  if (config.type === "FILESYSTEM") {
    if (!adapters.filesystem) throw new ObjstoreConfigError("FILESYSTEM buckets are not available in this runtime");
    bucket = adapters.filesystem(config.directory);
  } else {
    bucket = createS3Bucket(config.s3);
  }
  return withPrefix(bucket, config.prefix);
}
