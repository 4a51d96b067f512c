/**
 * A {@link Bucket} over a Cloudflare R2 bucket binding (Workers `env.BLOCKS`), so the store gateway
 * reads TSDB blocks straight from R2 with range GETs and no S3 credentials. Only the subset of the
 * binding this file calls is typed here (structurally), so the core needs no Workers type package
 * and tests can pass Miniflare's binding.
 */
import {
  bodyToBytes,
  compareKeys,
  normalizeDir,
  ObjectNotFoundError,
  validateObjectName,
  validateRange,
  type Bucket,
  type ObjectAttributes,
} from "./bucket.ts";

/** Metadata of one R2 object as the binding returns it. */
export interface R2ObjectLike {
  readonly key: string;
  readonly size: number;
  readonly uploaded: Date;
}

/** An R2 object with its body. */
export interface R2ObjectBodyLike extends R2ObjectLike {
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** One page of an R2 listing. */
export interface R2ObjectsLike {
  readonly objects: readonly R2ObjectLike[];
  readonly delimitedPrefixes: readonly string[];
  readonly truncated: boolean;
  readonly cursor?: string;
}

/** The methods of a Workers `R2Bucket` binding that {@link createR2Bucket} uses. */
export interface R2BucketLike {
  get(key: string, options?: { range?: { offset: number; length: number } }): Promise<R2ObjectBodyLike | null>;
  head(key: string): Promise<R2ObjectLike | null>;
  list(options?: { prefix?: string; delimiter?: string; cursor?: string; limit?: number }): Promise<R2ObjectsLike>;
  put(key: string, value: ArrayBuffer | ArrayBufferView | string | null): Promise<unknown>;
  delete(keys: string | string[]): Promise<void>;
}

/** Options of {@link createR2Bucket}. */
export interface R2BucketOptions {
  /** Name used in logs and errors (default `r2`). */
  readonly name?: string;
  /**
   * Wraps every binding call (each one holds an outbound connection while it runs); the Worker
   * passes its connection limiter here. Default: call directly.
   */
  readonly around?: <T>(fn: () => Promise<T>) => Promise<T>;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Creates a Bucket over an R2 binding. */
export function createR2Bucket(binding: R2BucketLike, opts: R2BucketOptions = {}): Bucket {
  const name = opts.name ?? "r2";
  const around = opts.around ?? (<T>(fn: () => Promise<T>) => fn());

  async function head(object: string): Promise<R2ObjectLike> {
    const h = await around(() => binding.head(object));
    if (!h) throw new ObjectNotFoundError(name, object);
    return h;
  }

  return {
    name,
    async get(object) {
      // The body is read while the connection is held, so the limiter sees its real duration.
      const bytes = await around(async () => {
        const o = await binding.get(object);
        return o ? new Uint8Array(await o.arrayBuffer()) : null;
      });
      if (!bytes) throw new ObjectNotFoundError(name, object);
      return bytes;
    },
    async getRange(object, offset, length) {
      validateRange(name, object, offset, length);
      if (length === 0) {
        await head(object);
        return new Uint8Array(0);
      }
      let bytes: Uint8Array | null;
      try {
        bytes = await around(async () => {
          const o = await binding.get(object, { range: { offset, length } });
          return o ? new Uint8Array(await o.arrayBuffer()) : null;
        });
      } catch (err) {
        // R2 rejects a range that starts at or past the end; the Bucket contract says "empty".
        const size = (await head(object)).size;
        if (offset >= size) return new Uint8Array(0);
        throw new Error(`${name}: range read of ${object} at ${offset}+${length}: ${describe(err)}`, { cause: err });
      }
      if (!bytes) throw new ObjectNotFoundError(name, object);
      return bytes.length > length ? bytes.subarray(0, length) : bytes;
    },
    async exists(object) {
      return (await around(() => binding.head(object))) !== null;
    },
    async iter(dir, fn, iterOpts) {
      const prefix = normalizeDir(dir);
      const recursive = iterOpts?.recursive ?? false;
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await around(() => binding.list({ prefix, ...(recursive ? {} : { delimiter: "/" }), ...(cursor !== undefined ? { cursor } : {}) }));
        for (const o of page.objects) names.push(o.key);
        if (!recursive) names.push(...page.delimitedPrefixes);
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor !== undefined);
      names.sort(compareKeys);
      for (const n of names) await fn(n);
    },
    async upload(object, body) {
      validateObjectName(name, object);
      // R2 needs a known length for stream bodies; block files are uploaded whole.
      const bytes = await bodyToBytes(body);
      await around(() => binding.put(object, bytes));
    },
    async delete(object) {
      await head(object);
      await around(() => binding.delete(object));
    },
    async attributes(object): Promise<ObjectAttributes> {
      const h = await head(object);
      return { size: h.size, lastModified: new Date(h.uploaded) };
    },
    async close() {},
  };
}
