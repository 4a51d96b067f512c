/**
 * The object-storage abstraction every component shares (store gateway reads blocks, the sidecar's
 * shipper uploads them). It mirrors Thanos' `objstore.Bucket` so the same bucket layouts and
 * listing semantics carry over, and it uses only Web-standard types so an R2 binding can implement
 * it on Workers.
 */
import { concatBytes } from "../model/bytes.ts";

/** Size and modification time of one object. */
export interface ObjectAttributes {
  readonly size: number;
  readonly lastModified: Date;
}

/** Options for {@link Bucket.iter}. */
export interface IterOptions {
  /**
   * When true, every object below `dir` is listed (no directory entries). When false (default),
   * only the direct children are listed and sub-directories appear once, with a trailing "/".
   */
  readonly recursive?: boolean;
}

/**
 * A flat namespace of immutable objects addressed by "/"-separated names, as Thanos sees S3, GCS
 * or a local directory. Names never start with "/".
 */
export interface Bucket {
  /** Human-readable name (bucket name or directory) for logs and errors. */
  readonly name: string;
  /** Reads a whole object. Rejects with {@link ObjectNotFoundError} when it does not exist. */
  get(name: string, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Reads up to `length` bytes at `offset`. The result is shorter than `length` only when the
   * object ends first (empty when `offset` is at or past the end). Missing object →
   * {@link ObjectNotFoundError}.
   */
  getRange(name: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Optional: reads up to `target.length` bytes at `offset` into `target` (the caller's, e.g.
   * pooled, memory) and returns how many were read (fewer only when the object ends first). A
   * bucket that reads into memory it allocates anyway (local files) saves the caller a fresh
   * buffer per range; callers use {@link readRangeInto}, which falls back to `getRange`.
   */
  getRangeInto?(name: string, offset: number, target: Uint8Array, signal?: AbortSignal): Promise<number>;
  /** True when the object exists. */
  exists(name: string): Promise<boolean>;
  /**
   * Calls `fn` for each entry under `dir` ("" is the root) in lexical order, with names relative to
   * the bucket root. Non-recursive listings report sub-directories as `"dir/sub/"` (Thanos
   * semantics); a missing directory lists nothing.
   */
  iter(dir: string, fn: (name: string) => void | Promise<void>, opts?: IterOptions): Promise<void>;
  /** Writes an object; readers never observe a partially written object. */
  upload(name: string, body: Uint8Array | ReadableStream<Uint8Array>): Promise<void>;
  /** Deletes an object. Rejects with {@link ObjectNotFoundError} when it does not exist. */
  delete(name: string): Promise<void>;
  /** Size and modification time. Missing object → {@link ObjectNotFoundError}. */
  attributes(name: string): Promise<ObjectAttributes>;
  /** Releases clients and handles. */
  close(): Promise<void>;
}

/**
 * Reads a range into `target` through {@link Bucket.getRangeInto} when the bucket has it, else by
 * `getRange` and a copy. Returns the number of bytes read.
 */
export async function readRangeInto(bucket: Bucket, name: string, offset: number, target: Uint8Array, signal?: AbortSignal): Promise<number> {
  if (bucket.getRangeInto) return bucket.getRangeInto(name, offset, target, signal);
  const bytes = await bucket.getRange(name, offset, target.length, signal);
  target.set(bytes);
  return bytes.length;
}

/** Raised when an object does not exist; callers test for it with {@link isObjectNotFound}. */
export class ObjectNotFoundError extends Error {
  override name = "ObjectNotFoundError";
  constructor(readonly bucket: string, readonly object: string) {
    super(`${bucket}: object not found: ${object}`);
  }
}

/** True when `err` says an object does not exist (works across bundles by checking the name). */
export function isObjectNotFound(err: unknown): err is ObjectNotFoundError {
  return err instanceof ObjectNotFoundError || (err instanceof Error && err.name === "ObjectNotFoundError");
}

/**
 * Normalizes an iter directory argument: "" stays the root, anything else gets exactly one trailing
 * "/" so "a" and "a/" list the same thing (as Thanos' providers do).
 */
export function normalizeDir(dir: string): string {
  if (dir === "" || dir === "/") return "";
  return dir.endsWith("/") ? dir : `${dir}/`;
}

/** Rejects object names that would escape the namespace or are empty. */
export function validateObjectName(bucket: string, name: string): void {
  if (name === "" || name.startsWith("/") || name.endsWith("/") || name.split("/").some((p) => p === "" || p === "." || p === "..")) {
    throw new Error(`${bucket}: invalid object name ${JSON.stringify(name)}`);
  }
}

/** Validates `getRange` arguments so every implementation rejects the same bad input. */
export function validateRange(bucket: string, name: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`${bucket}: invalid range for ${name}: offset ${offset}, length ${length}`);
  }
}

/** Collects an upload body into one array (small objects; streams are read to the end). */
export async function bodyToBytes(body: Uint8Array | ReadableStream<Uint8Array>): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.length;
  }
  if (parts.length === 1) return parts[0]!;
  return concatBytes(parts, total);
}

/**
 * Lists names from a sorted set of object keys with Thanos iter semantics. Shared by in-memory
 * style implementations that hold every key.
 */
export function listKeys(keys: Iterable<string>, dir: string, recursive: boolean): string[] {
  const prefix = normalizeDir(dir);
  const out = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    if (recursive) {
      out.add(key);
      continue;
    }
    const slash = key.indexOf("/", prefix.length);
    out.add(slash < 0 ? key : key.slice(0, slash + 1));
  }
  return [...out].sort(compareKeys);
}

/** Byte-wise order of object keys, as S3 lists them. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
