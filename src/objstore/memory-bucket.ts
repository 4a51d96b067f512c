/**
 * An in-memory bucket for tests and for the edge demo: same semantics as the filesystem and S3
 * buckets (the shared conformance suite runs against all three), no I/O.
 */
import {
  bodyToBytes,
  listKeys,
  ObjectNotFoundError,
  validateObjectName,
  validateRange,
  type Bucket,
  type ObjectAttributes,
} from "./bucket.ts";

interface Entry {
  readonly bytes: Uint8Array;
  readonly lastModified: Date;
}

/** Creates an empty in-memory bucket. Uploaded bytes are copied, so callers may reuse buffers. */
export function createMemoryBucket(name = "memory"): Bucket {
  const objects = new Map<string, Entry>();
  const entry = (object: string): Entry => {
    const e = objects.get(object);
    if (!e) throw new ObjectNotFoundError(name, object);
    return e;
  };
  return {
    name,
    async get(object) {
      return entry(object).bytes.slice();
    },
    async getRange(object, offset, length) {
      validateRange(name, object, offset, length);
      const bytes = entry(object).bytes;
      return bytes.slice(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
    },
    async exists(object) {
      return objects.has(object);
    },
    async iter(dir, fn, opts) {
      for (const key of listKeys(objects.keys(), dir, opts?.recursive ?? false)) await fn(key);
    },
    async upload(object, body) {
      validateObjectName(name, object);
      const bytes = await bodyToBytes(body);
      objects.set(object, { bytes: bytes.slice(), lastModified: new Date() });
    },
    async delete(object) {
      entry(object);
      objects.delete(object);
    },
    async attributes(object): Promise<ObjectAttributes> {
      const e = entry(object);
      return { size: e.bytes.length, lastModified: e.lastModified };
    },
    async close() {},
  };
}
