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
// marker 0x7ff0000000000002 survive. Each chunk is first byte-reversed into a small work region
// (see peek); the reader may look up to ~40 bytes past a chunk's end before the end-of-chunk check
// of each sample rejects that sample. Those reads land in a zeroed margin of the work region, so
// corrupt input never reads out of bounds, never depends on neighbouring chunks and never traps.

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

// Decoding works on a byte-reversed copy of the chunk (the "work" region): byte i of the chunk is
// stored at rev + len - 1 - i. A little-endian u64 load at rev + len - 8 - (pos >>> 3) then yields
// the stream bytes from pos >>> 3 on, most significant first, i.e. exactly a big-endian read — so
// the hot loop does one plain load and one shift per read (wasm has no bswap instruction, and
// reversing costs one SIMD shuffle per 16 bytes, once per chunk).

// @ts-ignore: decorator
@inline function peek(end: usize, pos: u32): u64 {
  // Stream bits from `pos` on, MSB-aligned; at least 57 of them are valid.
  return load<u64>(end - <usize>(pos >>> 3)) << <u64>(pos & 7);
}

// @ts-ignore: decorator
@inline function peek64(end: usize, pos: u32): u64 {
  return (peek(end, pos) & 0xffffffff00000000) | (peek(end, pos + 32) >>> 32);
}

/** Bytes of zeroed margin below the reversed copy: reads past a chunk's end land there. */
const MARGIN: u32 = 64;

// Reverses `len` bytes from `src` into rev[0, len); rev must have MARGIN bytes below it.
function reverseInto(rev: usize, src: usize, len: u32): void {
  for (let i: u32 = 0; i < len; i += 16) {
    const x = v128.load(src + <usize>i);
    v128.store(rev + <usize>len - 16 - <usize>i, i8x16.shuffle(x, x, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  }
  // The last block spilled up to 15 foreign bytes into the margin: zero it all.
  for (let p: u32 = 0; p < MARGIN; p += 16) v128.store(rev - <usize>MARGIN + <usize>p, i64x2.splat(0));
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
 * Decodes one chunk into outT/outV. The chunk was byte-reversed into the work region and `w` is
 * that copy's start + len - 8 (see peek). Returns the number of samples kept (those inside
 * [mint, maxt]) or -1 with errCode/errOffset/errSample set. Decoding stops at the first sample
 * after maxt, as Prometheus' bounded iterators do. `Filtered` is a compile-time switch: i32 builds
 * the filtering instance, anything else the unfiltered one.
 */
function decodeChunk<Filtered>(w: usize /* rev + len - 8 */, len: u32, outT: usize, outV: usize, mint: f64, maxt: f64): i32 {
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
  let v: u64 = peek64(w, pos);
  pos += 64;
  if (pos > endBits) return fail(XOR_ERR_TRUNCATED, 16, 0);
  let tf = <f64>t;
  if (tf > maxt) return 0;
  store<f64>(outT, tf);
  store<u64>(outV, v);
  let k = <u32>(tf >= mint);

  if (n == 1) {
    if (len > ((pos + 7) >>> 3) + 1) return fail(XOR_ERR_TRAILING, pos, n);
    return <i32>k;
  }

  // Sample 1: t1 - t0 as uvarint of the wrapping uint64 delta (bytes may straddle byte
  // boundaries), then the value as below.
  let lead: u64 = 0;
  let trail: u64 = 0;
  let delta: i64 = <i64>readUvarint(w, pos);
  if (varintPos == 0xffffffff) return fail(XOR_ERR_VARINT, pos, 1);
  let start = pos;
  pos = varintPos;
  t += delta;
  let wv = peek(w, pos);
  let i: u32 = 1;
  for (;;) {
    // Value: 0 = unchanged, 10 = reuse window, 11 = new window (5-bit leading, 6-bit sigbits).
    // `wv` holds at least 33 valid bits at `pos`, enough for the 13 header bits.
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
      const bits = sig <= 57 ? peek(w, pos + hdr) : peek64(w, pos + hdr);
      v ^= (bits >>> (64 - sig)) << trail; // 1 <= sig <= 64
      pos += hdr + <u32>sig;
    } else {
      pos += 1;
    }
    if (pos > endBits) return fail(XOR_ERR_TRUNCATED, start, i);

    // Without a filter mint/maxt are -Inf/+Inf. A sample before mint is stored and then
    // overwritten by the next one (k does not advance), which avoids a branch.
    tf = <f64>t;
    if (isInteger<Filtered>()) {
      // Compile-time branch: only the filtering instance pays for the comparisons.
      if (tf > maxt) return <i32>k;
    }
    const o = <usize>k << 3;
    store<f64>(outT + o, tf);
    store<u64>(outV + o, v);
    if (isInteger<Filtered>()) {
      k += <u32>(tf >= mint);
    } else {
      k++;
    }

    if (++i >= n) break;
    // Delta of delta: prefix 0, 10, 110, 1110 or 1111 selects 0, 14, 17, 20 or 64 payload bits.
    start = pos;
    const wt = peek(w, pos);
    if ((wt >>> 63) == 0) {
      pos += 1;
      wv = wt << 1;
    } else if ((wt >>> 62) == 2) {
      const b = <i64>((wt >>> 48) & 0x3fff);
      delta += b > 0x2000 ? b - 0x4000 : b;
      pos += 16;
      wv = wt << 16;
    } else if ((wt >>> 61) == 6) {
      const b = <i64>((wt >>> 44) & 0x1ffff);
      delta += b > 0x10000 ? b - 0x20000 : b;
      pos += 20;
      wv = wt << 20;
    } else if ((wt >>> 60) == 14) {
      const b = <i64>((wt >>> 40) & 0xfffff);
      delta += b > 0x80000 ? b - 0x100000 : b;
      pos += 24;
      wv = wt << 24;
    } else {
      delta += <i64>peek64(w, pos + 4);
      pos += 68;
      wv = peek(w, pos);
    }
    t += delta;
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
 * - `work`/`workCap`: scratch for one byte-reversed chunk: at least the longest chunk's length
 *   rounded up to 16, plus XOR_PADDING bytes (the zeroed margin below the copy).
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
      const rev = work + <usize>MARGIN;
      reverseInto(rev, input + off, len);
      const w = rev + <usize>len - 8;
      const oT = outT + (<usize>total << 3);
      const oV = outV + (<usize>total << 3);
      // Type argument i32 selects the filtering instance, f64 the unfiltered one.
      r = filter != 0 ? decodeChunk<i32>(w, len, oT, oV, mint, maxt) : decodeChunk<f64>(w, len, oT, oV, -Infinity, Infinity);
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

/**
 * Decodes the one chunk at `input + off` (`len` bytes) with the [mint, maxt] filter into
 * outT/outV (room for the count in its header) — for other kernels of this module that decode
 * chunks on demand. The caller checks the bounds as {@link xorDecodeBatch} does. Returns the
 * samples kept or -1; {@link xorWriteError} then records the failure.
 */
export function xorDecodeOne(input: usize, off: u32, len: u32, work: usize, outT: usize, outV: usize, mint: f64, maxt: f64): i32 {
  const rev = work + <usize>MARGIN;
  reverseInto(rev, input + off, len);
  return decodeChunk<i32>(rev + <usize>len - 8, len, outT, outV, mint, maxt);
}

/** Writes the last decode failure as the error record of {@link xorDecodeBatch}, naming chunk `c`. */
export function xorWriteError(err: usize, c: u32, code: u32): void {
  store<u32>(err, code != 0 ? code : errCode);
  store<u32>(err, c, 4);
  store<u32>(err, code != 0 ? 0 : errOffset, 8);
  store<u32>(err, code != 0 ? 0 : errSample, 12);
}

