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
// marker 0x7ff0000000000002 survive. Each chunk is first byte-swapped into a small work region
// (see peek); the reader may look up to ~40 bytes past a chunk's end before the end-of-chunk check
// of each sample rejects that sample. The zeroed padding after the work copy keeps those reads in
// memory the caller reserved, so corrupt input never reads out of bounds and never traps.

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

// Decoding works on a byte-swapped copy of the chunk ("work" region): every 8 bytes are reversed
// so that a little-endian u64 load yields the next 64 stream bits MSB-first. Reading 64 bits at any
// bit position is then two plain loads and shifts (wasm has no bswap instruction; swapping once per
// 16 bytes with one SIMD shuffle is far cheaper than swapping on every read).

// @ts-ignore: decorator
@inline function peek(w: usize, pos: u32): u64 {
  // The 64 stream bits starting at bit `pos`, MSB-aligned (all 64 valid).
  const p = w + (<usize>(pos >>> 6) << 3);
  const s = <u64>(pos & 63);
  return (load<u64>(p) << s) | ((load<u64>(p, 8) >>> 1) >>> (63 - s));
}

function swapInto(work: usize, src: usize, len: u32): void {
  for (let i: u32 = 0; i < len; i += 16) {
    const x = v128.load(src + <usize>i);
    v128.store(work + <usize>i, i8x16.shuffle(x, x, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8));
  }
}

function fail(code: u32, pos: u32, sample: u32): i32 {
  errCode = code;
  errOffset = pos >>> 3;
  errSample = sample;
  return -1;
}

// Reads a Go (u)varint of at most 10 bytes at bit `pos`; returns the value, sets varintPos
// (or varintPos = 0xffffffff on overflow).
let varintPos: u32 = 0;
function readUvarint(w: usize, pos: u32): u64 {
  let x: u64 = 0;
  let shift: u64 = 0;
  for (let j = 0; j < 10; j++) {
    const b = peek(w, pos) >>> 56;
    pos += 8;
    if (b < 0x80) {
      if (j == 9 && b > 1) break;
      varintPos = pos;
      return x | (b << shift);
    }
    x |= (b & 0x7f) << shift;
    shift += 7;
  }
  varintPos = 0xffffffff;
  return 0;
}

/**
 * Decodes one chunk (already byte-swapped into `w`, `len` bytes) into outT/outV. Returns the
 * number of samples kept (those inside [mint, maxt] when `filter`), or -1 with
 * errCode/errOffset/errSample set. Decoding stops at the first sample after maxt, as Prometheus'
 * bounded iterators do.
 */
function decodeChunk(w: usize, len: u32, outT: usize, outV: usize, filter: bool, mint: f64, maxt: f64): i32 {
  if (len < 2) return fail(XOR_ERR_SHORT, 0, 0);
  const n = <u32>(peek(w, 0) >>> 48);
  const endBits: u32 = len << 3;
  if (n == 0) {
    if (len > 3) return fail(XOR_ERR_TRAILING, 16, 0);
    return 0;
  }

  // Sample 0: zig-zag varint t0 (byte aligned), then 64 raw value bits.
  const z = readUvarint(w, 16);
  if (varintPos == 0xffffffff) return fail(XOR_ERR_VARINT, 16, 0);
  let pos = varintPos;
  let t: i64 = <i64>(z >>> 1) ^ -<i64>(z & 1);
  let v: u64 = peek(w, pos);
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

  let lead: u64 = 0;
  let trail: u64 = 0;
  let delta: i64 = 0;
  for (let i: u32 = 1; i < n; i++) {
    const start = pos;
    if (i == 1) {
      // t1 - t0 as uvarint of the wrapping uint64 delta; bytes may straddle byte boundaries.
      delta = <i64>readUvarint(w, pos);
      if (varintPos == 0xffffffff) return fail(XOR_ERR_VARINT, start, i);
      pos = varintPos;
    } else {
      // Delta of delta: prefix 0, 10, 110, 1110 or 1111 selects 0, 14, 17, 20 or 64 payload bits.
      const wt = peek(w, pos);
      if ((wt >>> 63) == 0) {
        pos += 1;
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
        delta += <i64>peek(w, pos + 4);
        pos += 68;
      }
    }
    t += delta;

    // Value: 0 = unchanged, 10 = reuse window, 11 = new window (5-bit leading, 6-bit sigbits).
    const wv = peek(w, pos);
    if ((wv >>> 63) != 0) {
      let hdr: u32 = 2;
      if ((wv >>> 62) == 3) {
        lead = (wv >>> 57) & 31;
        let sig = (wv >>> 51) & 63;
        sig = sig == 0 ? 64 : sig;
        if (lead + sig > 64) return fail(XOR_ERR_WINDOW, start, i);
        trail = 64 - lead - sig;
        hdr = 13;
      }
      const sig = 64 - lead - trail;
      v ^= (peek(w, pos + hdr) >>> (64 - sig)) << trail; // 1 <= sig <= 64
      pos += hdr + <u32>sig;
    } else {
      pos += 1;
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
 * - `work`/`workCap`: scratch for one byte-swapped chunk: at least the longest chunk's length
 *   rounded up to 16, plus XOR_PADDING bytes.
 * - `outT` (f64) / `outV` (u64 bits): output arrays with room for `outCap` samples; chunk i's
 *   samples follow chunk i-1's.
 * - `counts`: n u32, the samples kept per chunk.
 * - `filter` != 0 keeps only samples with mint <= t <= maxt.
 * - `err`: 4 u32 (code, chunk index, byte offset in the chunk, sample index) on failure.
 *
 * Returns the total number of samples written, or -1 after filling `err`.
 */
export function xorDecodeBatch(
  input: usize, inputLen: u32, table: usize, n: u32, work: usize, workCap: u32,
  outT: usize, outV: usize, outCap: u32, counts: usize,
  filter: i32, mint: f64, maxt: f64, err: usize,
): i32 {
  let total: u32 = 0;
  for (let c: u32 = 0; c < n; c++) {
    const off = load<u32>(table + (<usize>c << 3));
    const len = load<u32>(table + (<usize>c << 3), 4);
    const rounded = (len + 15) & ~15;
    let r: i32;
    if (<u64>off + <u64>len > <u64>inputLen || len > 0x0fffffff || <u64>rounded + XOR_PADDING > <u64>workCap) {
      r = fail(XOR_ERR_BOUNDS, 0, 0);
    } else if (len >= 2 && total + ((<u32>load<u8>(input + off) << 8) | <u32>load<u8>(input + off, 1)) > outCap) {
      r = fail(XOR_ERR_OUTPUT, 0, 0);
    } else {
      swapInto(work, input + off, len);
      // Zero what follows the chunk, so over-reads (rejected anyway) never depend on other chunks.
      for (let p: u32 = rounded; p < rounded + XOR_PADDING; p += 16) v128.store(work + <usize>p, i64x2.splat(0));
      r = decodeChunk(work, len, outT + (<usize>total << 3), outV + (<usize>total << 3), filter != 0, mint, maxt);
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
