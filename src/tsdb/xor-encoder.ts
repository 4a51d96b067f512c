/**
 * Prometheus' XOR (Gorilla) float chunk encoder (`tsdb/chunkenc/xor.go`, encoding byte 1), written
 * to produce the exact bytes Prometheus 2.42 writes for the same samples, so Meridian-written blocks,
 * re-encoded (trimmed) chunks and compaction output are indistinguishable from Prometheus' own.
 *
 * Layout: 2-byte big-endian sample count, then an MSB-first bit stream: t0 as zig-zag varint, v0 as
 * 64 raw bits, Δ1 as uvarint of uint64(t1 - t0), then per sample a delta-of-delta in Prometheus'
 * 14/17/20/64-bit buckets and the value XOR with leading/trailing-zero windows.
 *
 * Values are taken by their bits, so NaN payloads (the stale marker `0x7ff0000000000002`) survive.
 * Timestamps must be safe integers (ms); rare huge deltas fall back to BigInt arithmetic so the int64
 * wrap-around semantics of the Go code are reproduced exactly.
 */

/** Encoding byte of XOR chunks in segment files and in `thanos.Chunk`/`prometheus.Chunk`. */
export const XOR_ENCODING = 1;

/** Most samples one XOR chunk can count (uint16 header). */
export const XOR_MAX_SAMPLES = 0xffff;

/** Incremental XOR chunk builder. */
export interface XorEncoder {
  /** Appends one sample; `v` is taken by its float64 bits. */
  append(t: number, v: number): void;
  /**
   * Appends one sample whose value is given as raw IEEE-754 words (high, low). Use this when the
   * bits come from elsewhere than a JS number, so NaN payloads can never be canonicalised.
   */
  appendBits(t: number, hi: number, lo: number): void;
  /** Samples appended so far. */
  readonly count: number;
  /** Timestamp of the first sample (NaN before any append). */
  readonly minTime: number;
  /** Timestamp of the last sample (NaN before any append). */
  readonly maxTime: number;
  /** Size in bytes `bytes()` would return now. */
  readonly size: number;
  /** A copy of the chunk bytes so far (count header + bit stream), exactly as Prometheus stores them. */
  bytes(): Uint8Array;
}

const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const TWO_POW_52 = 2 ** 52;

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Creates an empty XOR chunk encoder. The bit writer mirrors Go's `bstream`, including its quirk of
 * leaving an all-zero trailing byte after whole-byte writes that end on a byte boundary (always the
 * case for 1-sample chunks), because byte-identical output is the point.
 */
export function createXorEncoder(): XorEncoder {
  let buf = new Uint8Array(128);
  let bitLen = 16; // the 2-byte sample count header
  let trailingEmpty = false; // last write was whole bytes (Go's writeByte leaves an empty byte)
  let count = 0;
  let tPrev = 0;
  let tPrev2 = 0;
  let vHi = 0;
  let vLo = 0;
  let leading = 0xff; // "no window yet" sentinel, as the Go appender of a fresh chunk
  let trailing = 0;
  let minTime = NaN;

  function ensure(extraBytes: number): void {
    const need = (bitLen >>> 3) + 1 + extraBytes;
    if (need <= buf.length) return;
    let cap = buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(buf);
    buf = next;
  }

  /** Writes the low `n` (0..32) bits of `u`, MSB first. */
  function put(u: number, n: number): void {
    while (n > 0) {
      const idx = bitLen >>> 3;
      const free = 8 - (bitLen & 7);
      const take = free < n ? free : n;
      const bits = (u >>> (n - take)) & ((1 << take) - 1);
      buf[idx]! |= bits << (free - take);
      bitLen += take;
      n -= take;
    }
  }

  function writeBit(bit: number): void {
    put(bit, 1);
    trailingEmpty = false;
  }

  /** Go `writeBits(u, n)` for n ≤ 32. */
  function writeBits(u: number, n: number): void {
    put(u, n);
    trailingEmpty = n % 8 === 0;
  }

  /** Go `writeBits(u, n)` for a 64-bit value given as words, n ≤ 64. */
  function writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      put(hi, n - 32);
      put(lo, 32);
    } else {
      put(lo, n);
    }
    trailingEmpty = n % 8 === 0;
  }

  /** Go `binary.PutUvarint` bytes written one by one with `writeByte`. */
  function writeUvarint(u: number): void {
    while (u >= 0x80) {
      put((u % 0x80) | 0x80, 8);
      u = Math.floor(u / 0x80);
    }
    put(u, 8);
    trailingEmpty = true;
  }

  function writeUvarintBig(u: bigint): void {
    while (u >= 0x80n) {
      put(Number(u & 0x7fn) | 0x80, 8);
      u >>= 7n;
    }
    put(Number(u), 8);
    trailingEmpty = true;
  }

  function writeVarint(x: number): void {
    if (Math.abs(x) < TWO_POW_52) writeUvarint(x >= 0 ? x * 2 : -x * 2 - 1);
    else {
      const b = BigInt(x);
      writeUvarintBig(BigInt.asUintN(64, (b << 1n) ^ (b >> 63n)));
    }
  }

  function writeValue(hi: number, lo: number): void {
    const xHi = (hi ^ vHi) >>> 0;
    const xLo = (lo ^ vLo) >>> 0;
    if (xHi === 0 && xLo === 0) {
      writeBit(0);
      return;
    }
    let newLeading = xHi !== 0 ? Math.clz32(xHi) : 32 + Math.clz32(xLo);
    const newTrailing = xLo !== 0 ? ctz32(xLo) : 32 + ctz32(xHi);
    if (newLeading >= 32) newLeading = 31; // must fit in 5 bits
    let lead: number;
    let trail: number;
    if (leading !== 0xff && newLeading >= leading && newTrailing >= trailing) {
      put(0b10, 2); // control bits: value changed, reuse the previous window
      lead = leading;
      trail = trailing;
    } else {
      leading = newLeading;
      trailing = newTrailing;
      lead = newLeading;
      trail = newTrailing;
      put(0b11, 2);
      put(newLeading, 5);
      put((64 - newLeading - newTrailing) & 0x3f, 6); // 64 significant bits are written as 0
    }
    const sig = 64 - lead - trail;
    let sHi: number;
    let sLo: number;
    if (trail === 0) {
      sHi = xHi;
      sLo = xLo;
    } else if (trail < 32) {
      sLo = ((xLo >>> trail) | (xHi << (32 - trail))) >>> 0;
      sHi = xHi >>> trail;
    } else {
      sLo = xHi >>> (trail - 32);
      sHi = 0;
    }
    writeBits64(sHi, sLo, sig);
  }

  function writeDod(t: number): void {
    const dod = (t - tPrev) - (tPrev - tPrev2);
    if (!Number.isSafeInteger(dod) || !Number.isSafeInteger(t - tPrev) || !Number.isSafeInteger(tPrev - tPrev2)) {
      const big = BigInt.asIntN(64, BigInt(t) - BigInt(tPrev) - (BigInt(tPrev) - BigInt(tPrev2)));
      writeDodBig(big);
      return;
    }
    if (dod === 0) writeBit(0);
    else if (dod >= -8191 && dod <= 8192) {
      put(0b10, 2);
      writeBits(dod & 0x3fff, 14);
    } else if (dod >= -65535 && dod <= 65536) {
      put(0b110, 3);
      writeBits(dod & 0x1ffff, 17);
    } else if (dod >= -524287 && dod <= 524288) {
      put(0b1110, 4);
      writeBits(dod & 0xfffff, 20);
    } else {
      writeDodBig(BigInt(dod));
    }
  }

  function writeDodBig(dod: bigint): void {
    const u = BigInt.asUintN(64, dod);
    put(0b1111, 4);
    writeBits64(Number(u >> 32n), Number(u & 0xffffffffn), 64);
  }

  function appendBits(t: number, hi: number, lo: number): void {
    if (!Number.isSafeInteger(t)) {
      throw new RangeError(`xor encoder: timestamp ${t} is not an integer number of milliseconds within ±2^53`);
    }
    if (count >= XOR_MAX_SAMPLES) throw new RangeError(`xor encoder: chunk is full (${XOR_MAX_SAMPLES} samples)`);
    hi >>>= 0;
    lo >>>= 0;
    ensure(40);
    if (count === 0) {
      writeVarint(t);
      writeBits64(hi, lo, 64);
      minTime = t;
    } else if (count === 1) {
      const d = t - tPrev;
      if (d >= 0 && Number.isSafeInteger(d)) writeUvarint(d);
      else writeUvarintBig(BigInt.asUintN(64, BigInt(t) - BigInt(tPrev)));
      writeValue(hi, lo);
    } else {
      writeDod(t);
      writeValue(hi, lo);
    }
    tPrev2 = tPrev;
    tPrev = t;
    vHi = hi;
    vLo = lo;
    count++;
    buf[0] = count >>> 8;
    buf[1] = count & 0xff;
  }

  function size(): number {
    const full = (bitLen + 7) >>> 3;
    return trailingEmpty && (bitLen & 7) === 0 ? full + 1 : full;
  }

  return {
    append(t: number, v: number): void {
      scratchF64[0] = v;
      appendBits(t, scratchU32[1]!, scratchU32[0]!);
    },
    appendBits,
    get count() {
      return count;
    },
    get minTime() {
      return minTime;
    },
    get maxTime() {
      return count === 0 ? NaN : tPrev;
    },
    get size() {
      return size();
    },
    bytes(): Uint8Array {
      if (count === 0) return new Uint8Array(2); // Go: an empty chunk is just the zero count header
      return buf.slice(0, size());
    },
  };
}

/**
 * Encodes samples `[from, to)` of parallel arrays into one XOR chunk. When `v` is a Float64Array the
 * value bits are read straight from its buffer, so stale markers and NaN payloads are kept exactly.
 */
export function encodeXorChunk(
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  from = 0,
  to: number = t.length,
): Uint8Array {
  if (v.length < to || t.length < to) throw new RangeError("xor encoder: t and v must cover the requested range");
  const enc = createXorEncoder();
  if (v instanceof Float64Array) {
    const words = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
    for (let i = from; i < to; i++) enc.appendBits(t[i]!, words[2 * i + 1]!, words[2 * i]!);
  } else {
    for (let i = from; i < to; i++) enc.append(t[i]!, v[i]!);
  }
  return enc.bytes();
}
