/**
 * The one way the TSDB code reads bytes: ranges of a named object. Local files, S3 range GETs and
 * Workers R2 objects all implement it, so block parsing never needs a whole file in memory.
 */

/** Random access to one immutable object (an index file, a chunk segment). */
export interface ByteRangeReader {
  /** Human-readable name used in error messages, e.g. `01H.../index`. */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /**
   * Reads exactly `length` bytes at `offset`. Rejects with a {@link TruncatedError} when the
   * object is shorter than `offset + length`.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Raised when a read runs past the end of an object. */
export class TruncatedError extends Error {
  override name = "TruncatedError";
  constructor(readonly object: string, readonly offset: number, readonly length: number, readonly size: number) {
    super(`${object}: truncated: wanted ${length} bytes at offset ${offset}, object has ${size} bytes`);
  }
}

/** A reader over bytes already in memory (tests, small objects, fetched ranges). */
export function createMemoryReader(name: string, bytes: Uint8Array): ByteRangeReader {
  return {
    name,
    size: async () => bytes.length,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        throw new TruncatedError(name, offset, length, bytes.length);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}
