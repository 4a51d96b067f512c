// CRC32C (Castagnoli) of chunk records plus XXH64 of their data, in one pass over bytes already
// copied into linear memory: the store gateway checks every chunk record it serves (a corrupt
// record must be reported, not sent) and hashes every chunk (`Chunk.hash`), so both kernels read
// the same bytes from one copy. Slicing-by-8 with the eight 256-entry tables in static memory.
//
// Layout (prepared by JS in the scratch arena):
// - input: chunk records (encoding byte, data, big-endian CRC32C) somewhere in it;
// - spans: n pairs of u32 (encAt, crcAt) relative to `input`: the CRC covers [encAt, crcAt), the
//   stored CRC is the 4 bytes at crcAt, the chunk data is [encAt + 1, crcAt);
// - out: n u64 XXH64 results (little-endian);
// - tmp: 8 bytes of scratch (a one-range offsets table for the XXH64 kernel).
import { xxhash64Batch } from "./xxhash";

const POLY: u32 = 0x82f63b78; // reversed Castagnoli polynomial
const TABLES: usize = memory.data(8 * 256 * 4, 16);
let tablesReady = false;

function buildTables(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    store<u32>(TABLES + (<usize>i << 2), c);
  }
  for (let n: u32 = 1; n < 8; n++) {
    for (let i: u32 = 0; i < 256; i++) {
      const prev = load<u32>(TABLES + (<usize>(((n - 1) << 8) | i) << 2));
      store<u32>(TABLES + (<usize>((n << 8) | i) << 2), (prev >>> 8) ^ load<u32>(TABLES + (<usize>(prev & 0xff) << 2)));
    }
  }
  tablesReady = true;
}

// @ts-ignore: decorator
@inline function tab(k: u32, i: u32): u32 {
  return load<u32>(TABLES + (<usize>((k << 8) | i) << 2));
}

/** CRC32C of `len` bytes at `p` (from 0, final XOR applied). */
function crc32cAt(p: usize, len: usize): u32 {
  let c: u32 = 0xffffffff;
  const end = p + len;
  while (p + 8 <= end) {
    const lo = c ^ load<u32>(p);
    const hi = load<u32>(p, 4);
    c =
      tab(7, lo & 0xff) ^ tab(6, (lo >>> 8) & 0xff) ^ tab(5, (lo >>> 16) & 0xff) ^ tab(4, lo >>> 24) ^
      tab(3, hi & 0xff) ^ tab(2, (hi >>> 8) & 0xff) ^ tab(1, (hi >>> 16) & 0xff) ^ tab(0, hi >>> 24);
    p += 8;
  }
  while (p < end) {
    c = tab(0, (c ^ <u32>load<u8>(p)) & 0xff) ^ (c >>> 8);
    p++;
  }
  return ~c;
}

/** CRC32C of `len` bytes at `p` (for tests and single checks). */
export function crc32c(p: usize, len: u32): u32 {
  if (!tablesReady) buildTables();
  return crc32cAt(p, <usize>len);
}

/**
 * Checks the CRC32C of `n` chunk records and hashes each one's data with XXH64 into `out`.
 * Returns -1 when every record was intact, otherwise the index of the first record whose stored
 * CRC differs (or whose bounds are inverted); results before it are valid, later ones are not set.
 */
export function chunkRecordsCheckHash(input: usize, spans: usize, n: i32, out: usize, tmp: usize): i32 {
  if (!tablesReady) buildTables();
  for (let i = 0; i < n; i++) {
    const encAt = load<u32>(spans + (<usize>i << 3));
    const crcAt = load<u32>(spans + (<usize>i << 3), 4);
    if (crcAt <= encAt) return i;
    const want = bswap<u32>(load<u32>(input + <usize>crcAt));
    if (crc32cAt(input + <usize>encAt, <usize>(crcAt - encAt)) != want) return i;
    store<u32>(tmp, encAt + 1);
    store<u32>(tmp, crcAt, 4);
    xxhash64Batch(input, tmp, 1, out + (<usize>i << 3));
  }
  return -1;
}
