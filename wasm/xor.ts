// XOR (Gorilla) chunk decoding kernel, bit-exact with Prometheus' tsdb/chunkenc/xor.go.
//
// Chunk layout: 2-byte big-endian sample count, then an MSB-first bit stream: t0 as zig-zag varint,
// v0 as 64 raw bits, t1-t0 as uvarint, then per sample a delta-of-delta in the 0/10/110/1110/1111
// buckets (0/14/17/20/64 payload bits) and the value XOR with the previous value (0 = same,
// 10 = reuse the leading/trailing window, 11 = 5-bit leading + 6-bit sigbits (0 means 64)).
//
// Batch design: JS copies many chunks into one input region (followed by XOR_PADDING spare bytes),
// writes a table of (offset, length) pairs and calls xorDecodeBatch once. Timestamps are written
// as f64 (ms, exact below 2^53), values as their raw 64 bits so NaN payloads such as the stale
// marker 0x7ff0000000000002 survive. The bit reader does unaligned 64-bit big-endian loads, which
// can look up to ~30 bytes past a chunk's end before the end-of-chunk check of each sample rejects
// the sample; the padding keeps those loads inside the input region, so corrupt input never reads
// outside memory the caller owns and never traps.

/** Spare bytes JS must reserve after the last chunk of the input region. */
export const XOR_PADDING: u32 = 64;

/** Error codes written to the error record (u32 code, chunk, byte offset, sample index). */
export const XOR_ERR_SHORT: u32 = 1; // chunk shorter than its 2-byte header
export const XOR_ERR_TRUNCATED: u32 = 2; // bit stream ends before `count` samples were read
export const XOR_ERR_TRAILING: u32 = 3; // bytes left over after `count` samples: count mismatch
export const XOR_ERR_VARINT: u32 = 4; // varint longer than 10 bytes or overflowing 64 bits
export const XOR_ERR_WINDOW: u32 = 5; // leading + significant bits > 64
export const XOR_ERR_BOUNDS: u32 = 6; // table entry outside the input region or chunk too large
export const XOR_ERR_OUTPUT: u32 = 7; // output arrays too small for the samples announced

// Error details of the last failing chunk (set by decodeChunk, copied to the record by the batch).
let errCode: u32 = 0;
let errOffset: u32 = 0;
let errSample: u32 = 0;

// @ts-ignore: decorator
@inline function peek(base: usize, pos: u32): u64 {
  // 64 bits starting at bit `pos`, MSB-aligned; at least 57 of them are valid stream bits.
  return bswap<u64>(load<u64>(base + <usize>(pos >>> 3))) << <u64>(pos & 7);
}

// @ts-ignore: decorator
@inline function read64(base: usize, pos: u32): u64 {
  return (peek(base, pos) & 0xffffffff00000000) | (peek(base, pos + 32) >>> 32);
}

function fail(code: u32, pos: u32, sample: u32): i32 {
  errCode = code;
  errOffset = pos >>> 3;
  errSample = sample;
  return -1;
}

/**
 * Decodes one chunk at `base` (`len` bytes) into outT/outV. Returns the number of samples kept
 * (those inside [mint, maxt] when `filter`), or -1 with errCode/errOffset/errSample set.
 * Decoding stops early at the first sample after maxt, as Prometheus' bounded iterators do.
 */
function decodeChunk(base: usize, len: u32, outT: usize, outV: usize, filter: bool, mint: f64, maxt: f64): i32 {
  if (len < 2) return fail(XOR_ERR_SHORT, 0, 0);
  const n = (<u32>load<u8>(base) << 8) | <u32>load<u8>(base, 1);
  const endBits: u32 = len << 3;
  let pos: u32 = 16;
  if (n == 0) {
    if (len > 3) return fail(XOR_ERR_TRAILING, 16, 0);
    return 0;
  }

  // Sample 0: zig-zag varint t0 (byte aligned), then 64 raw value bits.
  let x: u64 = 0;
  let shift: u64 = 0;
  for (let i = 0; ; i++) {
    if (i == 10) return fail(XOR_ERR_VARINT, 16, 0);
    const b = <u64>load<u8>(base + <usize>(pos >>> 3));
    pos += 8;
    if (b < 0x80) {
      if (i == 9 && b > 1) return fail(XOR_ERR_VARINT, 16, 0);
      x |= b << shift;
      break;
    }
    x |= (b & 0x7f) << shift;
    shift += 7;
  }
  let t: i64 = <i64>(x >>> 1) ^ -<i64>(x & 1);
  let v: u64 = bswap<u64>(load<u64>(base + <usize>(pos >>> 3)));
  pos += 64;
  if (pos > endBits) return fail(XOR_ERR_TRUNCATED, 16, 0);
  let k: u32 = 0;
  let tf = <f64>t;
  if (filter && tf > maxt) return 0;
  if (!filter || tf >= mint) {
    store<f64>(outT, tf);
    store<u64>(outV, v);
    k = 1;
  }

  let lead: u32 = 0;
  let trail: u32 = 0;
  let delta: i64 = 0;
  for (let i: u32 = 1; i < n; i++) {
    const start = pos;
    if (i == 1) {
      // t1 - t0 as uvarint of the wrapping uint64 delta; bytes may straddle byte boundaries.
      x = 0;
      shift = 0;
      for (let j = 0; ; j++) {
        if (j == 10) return fail(XOR_ERR_VARINT, start, i);
        const b = peek(base, pos) >>> 56;
        pos += 8;
        if (b < 0x80) {
          if (j == 9 && b > 1) return fail(XOR_ERR_VARINT, start, i);
          x |= b << shift;
          break;
        }
        x |= (b & 0x7f) << shift;
        shift += 7;
      }
      delta = <i64>x;
    } else {
      const wt = peek(base, pos);
      if ((wt >>> 63) == 0) {
        pos += 1; // dod == 0: the common case for regular scrapes
      } else if ((wt >>> 62) == 2) {
        const b = <i64>((wt >>> 48) & 0x3fff);
        delta += b > 0x2000 ? b - 0x4000 : b;
        pos += 16;
      } else if ((wt >>> 61) == 6) {
        const b = <i64>((wt >>> 44) & 0x1ffff);
        delta += b > 0x10000 ? b - 0x20000 : b;
        pos += 20;
      } else if ((wt >>> 60) == 14) {
        const b = <i64>((wt >>> 40) & 0xfffff);
        delta += b > 0x80000 ? b - 0x100000 : b;
        pos += 24;
      } else {
        delta += <i64>read64(base, pos + 4);
        pos += 68;
      }
    }
    t += delta;

    const wv = peek(base, pos);
    if ((wv >>> 63) != 0) {
      if ((wv >>> 62) == 3) {
        lead = <u32>(wv >>> 57) & 31;
        let sig = <u32>(wv >>> 51) & 63;
        if (sig == 0) sig = 64;
        if (lead + sig > 64) return fail(XOR_ERR_WINDOW, start, i);
        trail = 64 - lead - sig;
        pos += 13;
      } else {
        pos += 2;
      }
      const sig = 64 - lead - trail;
      const bits = sig <= 57 ? peek(base, pos) : read64(base, pos);
      v ^= (bits >>> <u64>(64 - sig)) << <u64>trail;
      pos += sig;
    } else {
      pos += 1; // value unchanged
    }
    if (pos > endBits) return fail(XOR_ERR_TRUNCATED, start, i);

    tf = <f64>t;
    if (filter) {
      if (tf > maxt) return <i32>k;
      if (tf < mint) continue;
    }
    const o = <usize>k << 3;
    store<f64>(outT + o, tf);
    store<u64>(outV + o, v);
    k++;
  }
  // A Go bit stream may end with one all-zero byte (see prometheus-formats.md §5.5); more than
  // that means the header's sample count does not match the stream.
  if (len > ((pos + 7) >>> 3) + 1) return fail(XOR_ERR_TRAILING, pos, n);
  return <i32>k;
}

/**
 * Decodes `n` chunks in one call.
 *
 * - `input`/`inputLen`: the region holding all chunk bytes (plus XOR_PADDING spare bytes after it).
 * - `table`: n pairs of u32 (offset from `input`, length) — one per chunk.
 * - `outT` (f64) / `outV` (u64 bits): output arrays with room for `outCap` samples; chunk i's
 *   samples follow chunk i-1's.
 * - `counts`: n u32, the samples kept per chunk.
 * - `filter` != 0 keeps only samples with mint <= t <= maxt.
 * - `err`: 4 u32 (code, chunk index, byte offset in the chunk, sample index) on failure.
 *
 * Returns the total number of samples written, or -1 after filling `err`.
 */
export function xorDecodeBatch(
  input: usize, inputLen: u32, table: usize, n: u32,
  outT: usize, outV: usize, outCap: u32, counts: usize,
  filter: i32, mint: f64, maxt: f64, err: usize,
): i32 {
  let total: u32 = 0;
  for (let c: u32 = 0; c < n; c++) {
    const off = load<u32>(table + (<usize>c << 3));
    const len = load<u32>(table + (<usize>c << 3), 4);
    let r: i32;
    if (<u64>off + <u64>len > <u64>inputLen || len > 0x0fffffff) {
      r = fail(XOR_ERR_BOUNDS, 0, 0);
    } else if (len >= 2 && total + ((<u32>load<u8>(input + off) << 8) | <u32>load<u8>(input + off, 1)) > outCap) {
      r = fail(XOR_ERR_OUTPUT, 0, 0);
    } else {
      r = decodeChunk(input + off, len, outT + (<usize>total << 3), outV + (<usize>total << 3), filter != 0, mint, maxt);
    }
    if (r < 0) {
      store<u32>(err, errCode);
      store<u32>(err, c, 4);
      store<u32>(err, errOffset, 8);
      store<u32>(err, errSample, 12);
      return -1;
    }
    store<u32>(counts + (<usize>c << 2), <u32>r);
    total += <u32>r;
  }
  return <i32>total;
}
