// XXH64 (seed 0) over many byte ranges per call: the store gateway puts it in every served
// chunk's `Chunk.hash` (Thanos' responseDeduplicator and queriers use it to drop chunks received
// twice). Native i64 arithmetic here is ~10× faster than the 32-bit-halves JS version.
//
// Layout (prepared by JS in the scratch arena):
// - input: the byte ranges back to back;
// - offsets: n + 1 u32, range i spans [offsets[i], offsets[i+1]) relative to `input`;
// - out: n u64 results (little-endian).

const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;
const P4: u64 = 0x85ebca77c2b2ae63;
const P5: u64 = 0x27d4eb2f165667c5;

// @ts-ignore: decorator
@inline function round(acc: u64, lane: u64): u64 {
  return rotl<u64>(acc + lane * P2, 31) * P1;
}

// @ts-ignore: decorator
@inline function mergeRound(h: u64, v: u64): u64 {
  return (h ^ round(0, v)) * P1 + P4;
}

/** XXH64 of `len` bytes at `p` with seed 0 (the reference algorithm, little-endian lanes). */
function xxh64(p: usize, len: usize): u64 {
  const end = p + len;
  let h: u64;
  if (len >= 32) {
    const limit = end - 32;
    let v1: u64 = P1 + P2;
    let v2: u64 = P2;
    let v3: u64 = 0;
    let v4: u64 = 0 - P1;
    do {
      v1 = round(v1, load<u64>(p));
      v2 = round(v2, load<u64>(p, 8));
      v3 = round(v3, load<u64>(p, 16));
      v4 = round(v4, load<u64>(p, 24));
      p += 32;
    } while (p <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = P5;
  }
  h += <u64>len;
  while (p + 8 <= end) {
    h ^= round(0, load<u64>(p));
    h = rotl<u64>(h, 27) * P1 + P4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= <u64>load<u32>(p) * P1;
    h = rotl<u64>(h, 23) * P2 + P3;
    p += 4;
  }
  while (p < end) {
    h ^= <u64>load<u8>(p) * P5;
    h = rotl<u64>(h, 11) * P1;
    p++;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

/**
 * Hashes `n` ranges of `input` (bounds in the `offsets` table) and stores each XXH64 as a u64 at
 * `out + 8 * i`. Returns the index of the first range whose bounds are inverted, or -1 when all
 * were hashed (JS validates the table, this is a last guard against reading garbage).
 */
export function xxhash64Batch(input: usize, offsets: usize, n: i32, out: usize): i32 {
  for (let i = 0; i < n; i++) {
    const a = load<u32>(offsets + (<usize>i << 2));
    const b = load<u32>(offsets + (<usize>i << 2), 4);
    if (b < a) return i;
    store<u64>(out + (<usize>i << 3), xxh64(input + <usize>a, <usize>(b - a)));
  }
  return -1;
}
