/**
 * S3 (and S3-compatible: MinIO, Ceph, R2's S3 API, s3rver) bucket through `@aws-sdk/client-s3`.
 * Semantics follow Thanos' S3 provider: path-style addressing for custom endpoints, plain HTTP when
 * `insecure`, ranged GETs for partial reads, and transparent retries of transient failures.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { compareKeys, normalizeDir, ObjectNotFoundError, validateObjectName, validateRange, type Bucket } from "./bucket.ts";
import { withPrefix } from "./prefixed-bucket.ts";
import { isTransientError, withRetry } from "./retry.ts";
import { uploadObject } from "./s3-multipart.ts";

const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

/** S3 settings, named after Thanos' S3 config fields (camel-cased). */
export interface S3BucketConfig {
  readonly bucket: string;
  /** `host[:port]` as in Thanos, or a full URL. */
  readonly endpoint: string;
  readonly region?: string;
  readonly accessKey?: string;
  readonly secretKey?: string;
  readonly sessionToken?: string;
  /** Use http:// instead of https:// for a scheme-less endpoint. */
  readonly insecure?: boolean;
  /** `auto` (default: virtual-hosted for amazonaws.com, path-style otherwise), `path` or `virtual-hosted`. */
  readonly bucketLookupType?: "auto" | "path" | "virtual-hosted";
  /** Sub-directory every name is resolved under. */
  readonly prefix?: string;
  /** Attempts per operation for transient errors (default 5, Thanos' `max_retries` + 1). */
  readonly maxAttempts?: number;
  /** Timeout of one attempt in ms (default 120000). */
  readonly requestTimeoutMs?: number;
  /** Multipart part size for large uploads (default 16 MiB, minimum 5 MiB; Thanos' `part_size`). */
  readonly partSize?: number;
  /** Objects per ListObjectsV2 page (default 1000; tests lower it to exercise paging). */
  readonly listPageSize?: number;
  /** Called on each retry, for logging. */
  readonly onRetry?: (op: string, name: string, err: unknown, attempt: number) => void;
}

/** Builds the endpoint URL: a scheme-less `host:port` becomes https, or http when `insecure`. */
export function s3EndpointUrl(endpoint: string, insecure = false): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) return endpoint;
  return `${insecure ? "http" : "https"}://${endpoint}`;
}

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

function isInvalidRange(err: unknown): boolean {
  const e = err as SdkError;
  return e?.name === "InvalidRange" || e?.$metadata?.httpStatusCode === 416;
}

class AttemptTimeoutError extends Error {
  override name = "TimeoutError";
}

/** Creates an S3 bucket. The client is created once and shared by all operations. */
export function createS3Bucket(config: S3BucketConfig): Bucket {
  const lookup = config.bucketLookupType ?? "auto";
  const pathStyle = lookup === "path" || (lookup === "auto" && !/(^|\.)amazonaws\.com(:\d+)?$/i.test(config.endpoint.replace(/^[a-z]+:\/\//i, "")));
  const clientConfig: S3ClientConfig = {
    endpoint: s3EndpointUrl(config.endpoint, config.insecure),
    region: config.region || "us-east-1",
    forcePathStyle: pathStyle,
    // Retries are ours (withRetry) so not-found is never retried and timeouts are per attempt.
    maxAttempts: 1,
    // Checksums only where S3 requires them: streamed trailers break S3-compatible servers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
  if (config.accessKey || config.secretKey) {
    if (!config.accessKey || !config.secretKey) throw new Error("s3: access_key and secret_key must be set together");
    clientConfig.credentials = { accessKeyId: config.accessKey, secretAccessKey: config.secretKey, sessionToken: config.sessionToken };
  }
  const client = new S3Client(clientConfig);
  const bucketName = config.bucket;
  const displayName = `s3://${bucketName}`;
  const timeoutMs = config.requestTimeoutMs ?? 120_000;
  const pageSize = config.listPageSize ?? 1000;

  /** Runs one S3 call with a per-attempt timeout and retries of transient errors. */
  function call<T>(op: string, name: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(
      async () => {
        const timeout = AbortSignal.timeout(timeoutMs);
        const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
        try {
          return await fn(combined);
        } catch (err) {
          if (timeout.aborted && !signal?.aborted) throw new AttemptTimeoutError(`${displayName}: ${op} ${name}: timed out after ${timeoutMs}ms`);
          throw err;
        }
      },
      (err) => !isNotFound(err) && isTransientError(err),
      { attempts: config.maxAttempts ?? 5, signal, onRetry: (err, attempt) => config.onRetry?.(op, name, err, attempt) },
    );
  }

  async function getObject(name: string, range: { offset: number; length: number } | undefined, signal?: AbortSignal): Promise<Uint8Array> {
    // Only explicit `bytes=a-b` ranges: suffix ranges are mis-served by some S3 clones.
    const header = range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined;
    try {
      return await call(
        "get",
        name,
        async (s) => {
          const out = await client.send(new GetObjectCommand({ Bucket: bucketName, Key: name, Range: header }), { abortSignal: s });
          const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
          // A server may ignore Range and send more than asked (HTTP allows it; s3rver answers
          // `bytes=0-0` with the whole object): cut the requested part out ourselves.
          if (!range) return bytes;
          const start = out.ContentRange ? Number(/^bytes (\d+)-/.exec(out.ContentRange)?.[1] ?? 0) : 0;
          if (start === range.offset && bytes.length <= range.length) return bytes;
          return bytes.subarray(range.offset - start, range.offset - start + range.length);
        },
        signal,
      );
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(displayName, name);
      throw err;
    }
  }

  async function head(name: string) {
    try {
      return await call("head", name, (s) => client.send(new HeadObjectCommand({ Bucket: bucketName, Key: name }), { abortSignal: s }));
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(displayName, name);
      throw err;
    }
  }

  const bucket: Bucket = {
    name: displayName,
    get: (name, signal) => getObject(name, undefined, signal),
    async getRange(name, offset, length, signal) {
      validateRange(displayName, name, offset, length);
      if (length === 0) {
        await head(name);
        return new Uint8Array(0);
      }
      try {
        return await getObject(name, { offset, length }, signal);
      } catch (err) {
        if (!isInvalidRange(err)) throw err;
        await head(name); // 416: offset at/after the end; distinguish from a missing object
        return new Uint8Array(0);
      }
    },
    async exists(name) {
      try {
        await head(name);
        return true;
      } catch (err) {
        if (err instanceof ObjectNotFoundError) return false;
        throw err;
      }
    },
    async iter(dir, fn, opts) {
      const prefix = normalizeDir(dir);
      const recursive = opts?.recursive ?? false;
      let token: string | undefined;
      do {
        const page = await call("iter", prefix, (s) =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucketName,
              Prefix: prefix || undefined,
              Delimiter: recursive ? undefined : "/",
              ContinuationToken: token,
              MaxKeys: pageSize,
            }),
            { abortSignal: s },
          ),
        );
        const names: string[] = [];
        for (const o of page.Contents ?? []) if (o.Key && o.Key !== prefix) names.push(o.Key);
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.push(p.Prefix);
        names.sort(compareKeys);
        for (const n of names) await fn(n);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async upload(name, body) {
      validateObjectName(displayName, name);
      // Parts are buffered (one at a time) so a retry can resend them.
      await uploadObject(client, call, bucketName, name, body, config.partSize ?? DEFAULT_PART_SIZE);
    },
    async delete(name) {
      // S3 deletes of missing keys succeed silently; check first so all buckets agree.
      await head(name);
      await call("delete", name, (s) => client.send(new DeleteObjectCommand({ Bucket: bucketName, Key: name }), { abortSignal: s }));
    },
    async attributes(name) {
      const out = await head(name);
      return { size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    },
    async close() {
      client.destroy();
    },
  };
  return config.prefix ? withPrefix(bucket, config.prefix) : bucket;
}
