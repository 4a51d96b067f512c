/**
 * Adapts one bucket object to the TSDB code's {@link ByteRangeReader}, so block parsing reads an
 * index or chunk segment by ranges straight from object storage.
 */
import { TruncatedError, type ByteRangeReader } from "../tsdb/byte-range-reader.ts";
import { readRangeInto, type Bucket } from "./bucket.ts";

/** Optional hooks for accounting (the store gateway counts bytes fetched). */
export interface BucketReaderOptions {
  /** Known size (e.g. from meta.json or a listing) saves one attributes call. */
  readonly size?: number;
  /** Called after every successful range read with the number of bytes received. */
  readonly onRead?: (bytes: number) => void;
  /** Cancels in-flight reads. */
  readonly signal?: AbortSignal;
}

/**
 * A {@link ByteRangeReader} that, over a bucket with `getRangeInto`, also reads into memory the
 * caller owns: exactly `target.length` bytes at `offset`, the same errors as `read`.
 */
export interface BucketRangeReader extends ByteRangeReader {
  readInto?(offset: number, target: Uint8Array): Promise<void>;
}

/**
 * A ByteRangeReader over `bucket`/`name`. The size is fetched once (attributes) and memoized;
 * reads past the end reject with {@link TruncatedError} naming the object.
 */
export function bucketReader(bucket: Bucket, name: string, opts: BucketReaderOptions = {}): BucketRangeReader {
  let size: Promise<number> | undefined = opts.size !== undefined ? Promise.resolve(opts.size) : undefined;
  const getSize = (): Promise<number> => {
    if (!size) {
      size = bucket.attributes(name).then((a) => a.size);
      // Do not memoize failures: a transient error must not poison the reader.
      size.catch(() => (size = undefined));
    }
    return size;
  };
  return {
    name,
    size: getSize,
    async read(offset, length) {
      if (length === 0) return new Uint8Array(0);
      const bytes = await bucket.getRange(name, offset, length, opts.signal);
      opts.onRead?.(bytes.length);
      if (bytes.length !== length) {
        const actual = await getSize().catch(() => offset + bytes.length);
        throw new TruncatedError(name, offset, length, actual);
      }
      return bytes;
    },
    // Only where the bucket reads into the caller's memory itself: through getRange it would be a copy more.
    ...(bucket.getRangeInto
      ? {
          async readInto(offset: number, target: Uint8Array): Promise<void> {
            if (target.length === 0) return;
            const n = await readRangeInto(bucket, name, offset, target, opts.signal);
            opts.onRead?.(n);
            if (n !== target.length) {
              const actual = await getSize().catch(() => offset + n);
              throw new TruncatedError(name, offset, target.length, actual);
            }
          },
        }
      : {}),
  };
}
