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
// - meta: n u32: the record's encoding byte | the 2-byte big-endian sample count at the start of its
//   data << 8 (0 when the data is shorter), so JS need not touch the (by then cold) bytes again;
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

// @ts-ignore: decorator
@inline function step8(c: u32, p: usize): u32 {
  const lo = c ^ load<u32>(p);
  const hi = load<u32>(p, 4);
  return (
    tab(7, lo & 0xff) ^ tab(6, (lo >>> 8) & 0xff) ^ tab(5, (lo >>> 16) & 0xff) ^ tab(4, lo >>> 24) ^
    tab(3, hi & 0xff) ^ tab(2, (hi >>> 8) & 0xff) ^ tab(1, (hi >>> 16) & 0xff) ^ tab(0, hi >>> 24)
  );
}

/** Continues the (pre-inverted) CRC state `c` over `[p, end)`. */
function crcUpdate(c: u32, p: usize, end: usize): u32 {
  while (p + 8 <= end) {
    c = step8(c, p);
    p += 8;
  }
  while (p < end) {
    c = tab(0, (c ^ <u32>load<u8>(p)) & 0xff) ^ (c >>> 8);
    p++;
  }
  return c;
}

/** CRC32C of `len` bytes at `p` (from 0, final XOR applied). */
function crc32cAt(p: usize, len: usize): u32 {
  return ~crcUpdate(0xffffffff, p, p + len);
}

/** CRC32C of `len` bytes at `p` (for tests and single checks). */
export function crc32c(p: usize, len: u32): u32 {
  if (!tablesReady) buildTables();
  return crc32cAt(p, <usize>len);
}

/**
 * Checks the CRC32C of `n` chunk records, hashes each one's data with XXH64 into `out` and notes
 * its encoding and sample count in `meta`.
 * Returns -1 when every record was intact, otherwise the index of the first record whose stored
 * CRC differs (or whose bounds are inverted); results before it are valid, later ones are not set.
 */
export function chunkRecordsCheckHash(input: usize, spans: usize, n: i32, out: usize, meta: usize, tmp: usize): i32 {
  if (!tablesReady) buildTables();
  let i = 0;
  // Four records at a time, their CRCs computed in lockstep: one record's slicing-by-8 steps
  // depend on each other (a chain of table lookups); four independent chains keep the CPU busy.
  for (; i + 4 <= n; i += 4) {
    const s = spans + (<usize>i << 3);
    const a0 = load<u32>(s), b0 = load<u32>(s, 4);
    const a1 = load<u32>(s, 8), b1 = load<u32>(s, 12);
    const a2 = load<u32>(s, 16), b2 = load<u32>(s, 20);
    const a3 = load<u32>(s, 24), b3 = load<u32>(s, 28);
    if (b0 <= a0) return i;
    if (b1 <= a1) return i + 1;
    if (b2 <= a2) return i + 2;
    if (b3 <= a3) return i + 3;
    const m = <usize>(min(min(b0 - a0, b1 - a1), min(b2 - a2, b3 - a3)) & ~7);
    const p0 = input + <usize>a0, p1 = input + <usize>a1, p2 = input + <usize>a2, p3 = input + <usize>a3;
    let c0: u32 = 0xffffffff, c1: u32 = 0xffffffff, c2: u32 = 0xffffffff, c3: u32 = 0xffffffff;
    for (let o: usize = 0; o < m; o += 8) {
      c0 = step8(c0, p0 + o);
      c1 = step8(c1, p1 + o);
      c2 = step8(c2, p2 + o);
      c3 = step8(c3, p3 + o);
    }
    c0 = ~crcUpdate(c0, p0 + m, input + <usize>b0);
    c1 = ~crcUpdate(c1, p1 + m, input + <usize>b1);
    c2 = ~crcUpdate(c2, p2 + m, input + <usize>b2);
    c3 = ~crcUpdate(c3, p3 + m, input + <usize>b3);
    if (!finish(input, a0, b0, c0, i, out, meta, tmp)) return i;
    if (!finish(input, a1, b1, c1, i + 1, out, meta, tmp)) return i + 1;
    if (!finish(input, a2, b2, c2, i + 2, out, meta, tmp)) return i + 2;
    if (!finish(input, a3, b3, c3, i + 3, out, meta, tmp)) return i + 3;
  }
  for (; i < n; i++) {
    const encAt = load<u32>(spans + (<usize>i << 3));
    const crcAt = load<u32>(spans + (<usize>i << 3), 4);
    if (crcAt <= encAt) return i;
    if (!finish(input, encAt, crcAt, crc32cAt(input + <usize>encAt, <usize>(crcAt - encAt)), i, out, meta, tmp)) return i;
  }
  return -1;
}

/** Compares record i's computed CRC with the stored one; if equal, hashes its data and notes its meta. */
function finish(input: usize, encAt: u32, crcAt: u32, crc: u32, i: i32, out: usize, meta: usize, tmp: usize): bool {
  if (crc != bswap<u32>(load<u32>(input + <usize>crcAt))) return false;
  const at = input + <usize>encAt;
  const count: u32 = crcAt - encAt >= 3 ? (<u32>load<u8>(at, 1) << 8) | <u32>load<u8>(at, 2) : 0;
  store<u32>(meta + (<usize>i << 2), <u32>load<u8>(at) | (count << 8));
  store<u32>(tmp, encAt + 1);
  store<u32>(tmp, crcAt, 4);
  xxhash64Batch(input, tmp, 1, out + (<usize>i << 3));
  return true;
}
