/**
 * CRC32 with the Castagnoli polynomial, the checksum Prometheus uses for index sections, chunk
 * records, tombstones and remote-read frames. Table-driven, slicing-by-8, so checking whole chunk
 * segments and index sections stays cheap.
 */

const POLY = 0x82f63b78; // reversed Castagnoli polynomial

// The 8 slicing tables back to back in one array (table k at k * 256): one typed array to index
// instead of eight, and nothing to unpack per call (chunks are checked one by one, ~100-300 bytes).
// Signed 32-bit entries and a signed running value: every intermediate stays a small integer, so
// even before the loop is optimized it allocates no heap numbers (uint32 values ≥ 2^31 would).
const T: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let n = 1; n < 8; n++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(n - 1) * 256 + i]!;
      t[n * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/**
 * Continues a CRC32C over `bytes`. Pass the previous result as `crc` to checksum data that
 * arrives in pieces; start from 0.
 */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  return crc32cRange(bytes, 0, bytes.length, crc);
}

/** {@link crc32c} over `bytes[start, end)` without creating a subarray. */
export function crc32cRange(bytes: Uint8Array, start: number, end: number, crc = 0): number {
  let c = ~crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + bytes[i + 4]!]! ^
      T[512 + bytes[i + 5]!]! ^
      T[256 + bytes[i + 6]!]! ^
      T[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = T[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
