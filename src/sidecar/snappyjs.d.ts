/**
 * Types for `snappyjs` (the package ships none). Snappy **block** format, as Prometheus remote
 * read/write use it: `compress`/`uncompress` return the same kind of buffer they are given.
 */
declare module "snappyjs" {
  /** Snappy-block-compresses `data`. */
  export function compress(data: Uint8Array): Uint8Array;
  /** Decompresses a snappy block; `maxLength` rejects inputs that claim a larger output. */
  export function uncompress(data: Uint8Array, maxLength?: number): Uint8Array;
}
