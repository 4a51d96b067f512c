/**
 * Thanos' `prefix` option: a bucket view rooted at a sub-directory, so several components or
 * tenants can share one physical bucket. Names seen by callers never include the prefix.
 */
import { normalizeDir, type Bucket } from "./bucket.ts";

/** Wraps `bucket` so every name is resolved under `prefix` (no-op for an empty prefix). */
export function withPrefix(bucket: Bucket, prefix: string): Bucket {
  const root = normalizeDir(prefix.replace(/^\/+/, ""));
  if (root === "") return bucket;
  const full = (name: string) => root + name;
  const into = bucket.getRangeInto?.bind(bucket);
  return {
    name: `${bucket.name}/${root.slice(0, -1)}`,
    ...(into ? { getRangeInto: (name: string, offset: number, target: Uint8Array, signal?: AbortSignal) => into(full(name), offset, target, signal) } : {}),
    get: (name, signal) => bucket.get(full(name), signal),
    getRange: (name, offset, length, signal) => bucket.getRange(full(name), offset, length, signal),
    exists: (name) => bucket.exists(full(name)),
    iter: (dir, fn, opts) => bucket.iter(root + normalizeDir(dir), (name) => fn(name.slice(root.length)), opts),
    upload: (name, body) => bucket.upload(full(name), body),
    delete: (name) => bucket.delete(full(name)),
    attributes: (name) => bucket.attributes(full(name)),
    close: () => bucket.close(),
  };
}
