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
 * The encoder state. A class (not closures) so V8 keeps the hot fields in-object; the bit writer
 * mirrors Go's `bstream`, including its quirk of leaving an all-zero trailing byte after whole-byte
 * writes that end on a byte boundary (always the case for 1-sample chunks), because byte-identical
 * output is the point.
 */
class XorChunkEncoder implements XorEncoder {
  private buf: Uint8Array;
  private bitLen = 16; // the 2-byte sample count header
  private trailingEmpty = false; // last write was whole bytes (Go's writeByte leaves an empty byte)
  private n = 0;
  private tPrev = 0;
  private tPrev2 = 0;
  private vHi = 0;
  private vLo = 0;
  private leading = 0xff; // "no window yet" sentinel, as the Go appender of a fresh chunk
  private trailing = 0;
  private first = NaN;

  /** `buf` must be all zeros; the one-shot path passes a reused scratch buffer. */
  constructor(buf: Uint8Array = new Uint8Array(256)) {
    this.buf = buf;
  }

  get count(): number {
    return this.n;
  }
  get minTime(): number {
    return this.first;
  }
  get maxTime(): number {
    return this.n === 0 ? NaN : this.tPrev;
  }
  get size(): number {
    const full = (this.bitLen + 7) >>> 3;
    return this.trailingEmpty && (this.bitLen & 7) === 0 ? full + 1 : full;
  }

  bytes(): Uint8Array {
    if (this.n === 0) return new Uint8Array(2); // Go: an empty chunk is just the zero count header
    return this.buf.slice(0, this.size);
  }

  /** The chunk bytes, then zeroes the buffer so it can be handed to the next encoder. */
  takeAndClear(): Uint8Array {
    const out = this.bytes();
    this.buf.fill(0, 0, out.length + 1);
    return out;
  }

  /** The (possibly grown) buffer, for reuse. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  append(t: number, v: number): void {
    scratchF64[0] = v;
    this.appendBits(t, scratchU32[1]!, scratchU32[0]!);
  }

  appendBits(t: number, hi: number, lo: number): void {
    if (!Number.isSafeInteger(t)) {
      throw new RangeError(`xor encoder: timestamp ${t} is not an integer number of milliseconds within ±2^53`);
    }
    if (this.n >= XOR_MAX_SAMPLES) throw new RangeError(`xor encoder: chunk is full (${XOR_MAX_SAMPLES} samples)`);
    hi >>>= 0;
    lo >>>= 0;
    if ((this.bitLen >>> 3) + 40 > this.buf.length) this.grow();
    if (this.n === 0) {
      this.writeVarint(t);
      this.put(hi, 32);
      this.put(lo, 32);
      this.trailingEmpty = true;
      this.first = t;
    } else if (this.n === 1) {
      const d = t - this.tPrev;
      if (d >= 0 && Number.isSafeInteger(d)) this.writeUvarint(d);
      else this.writeUvarintBig(BigInt.asUintN(64, BigInt(t) - BigInt(this.tPrev)));
      this.writeValue(hi, lo);
    } else {
      this.writeDod(t);
      this.writeValue(hi, lo);
    }
    this.tPrev2 = this.tPrev;
    this.tPrev = t;
    this.vHi = hi;
    this.vLo = lo;
    const n = ++this.n;
    this.buf[0] = n >>> 8;
    this.buf[1] = n & 0xff;
  }

  private grow(): void {
    const next = new Uint8Array(Math.max(256, this.buf.length * 2));
    next.set(this.buf);
    this.buf = next;
  }

  /** Writes the low `n` (1..32) bits of `u`, MSB first. Bytes past the position are still zero. */
  private put(u: number, n: number): void {
    const buf = this.buf;
    const pos = this.bitLen;
    let idx = pos >>> 3;
    const free = 8 - (pos & 7);
    this.bitLen = pos + n;
    if (n <= free) {
      buf[idx]! |= (u & ((1 << n) - 1)) << (free - n);
      return;
    }
    n -= free;
    buf[idx]! |= (u >>> n) & ((1 << free) - 1);
    idx++;
    while (n >= 8) {
      n -= 8;
      buf[idx++] = (u >>> n) & 0xff;
    }
    if (n > 0) buf[idx] = (u << (8 - n)) & 0xff;
  }

  /** Go `writeBits(u, n)` for n ≤ 32 (whole-byte writes leave Go's empty trailing byte). */
  private writeBits(u: number, n: number): void {
    this.put(u, n);
    this.trailingEmpty = (n & 7) === 0;
  }

  /** Go `binary.PutUvarint` bytes written one by one with `writeByte`. */
  private writeUvarint(u: number): void {
    while (u >= 0x80) {
      this.put((u % 0x80) | 0x80, 8);
      u = Math.floor(u / 0x80);
    }
    this.put(u, 8);
    this.trailingEmpty = true;
  }

  private writeUvarintBig(u: bigint): void {
    while (u >= 0x80n) {
      this.put(Number(u & 0x7fn) | 0x80, 8);
      u >>= 7n;
    }
    this.put(Number(u), 8);
    this.trailingEmpty = true;
  }

  private writeVarint(x: number): void {
    if (Math.abs(x) < TWO_POW_52) this.writeUvarint(x >= 0 ? x * 2 : -x * 2 - 1);
    else {
      const b = BigInt(x);
      this.writeUvarintBig(BigInt.asUintN(64, (b << 1n) ^ (b >> 63n)));
    }
  }

  private writeValue(hi: number, lo: number): void {
    const xHi = (hi ^ this.vHi) >>> 0;
    const xLo = (lo ^ this.vLo) >>> 0;
    if (xHi === 0 && xLo === 0) {
      this.put(0, 1);
      this.trailingEmpty = false;
      return;
    }
    let newLeading = xHi !== 0 ? Math.clz32(xHi) : 32 + Math.clz32(xLo);
    const newTrailing = xLo !== 0 ? ctz32(xLo) : 32 + ctz32(xHi);
    if (newLeading >= 32) newLeading = 31; // must fit in 5 bits
    let lead = this.leading;
    let trail = this.trailing;
    if (lead !== 0xff && newLeading >= lead && newTrailing >= trail) {
      this.put(0b10, 2); // control bits: value changed, reuse the previous window
    } else {
      lead = this.leading = newLeading;
      trail = this.trailing = newTrailing;
      // control bits 11, leading in 5 bits, significant bits in 6 (64 is written as 0)
      this.put((0b11 << 11) | (newLeading << 6) | ((64 - newLeading - newTrailing) & 0x3f), 13);
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
    if (sig > 32) {
      this.put(sHi, sig - 32);
      this.put(sLo, 32);
    } else {
      this.put(sLo, sig);
    }
    this.trailingEmpty = (sig & 7) === 0;
  }

  private writeDod(t: number): void {
    const tPrev = this.tPrev;
    const tPrev2 = this.tPrev2;
    const delta = t - tPrev;
    const prevDelta = tPrev - tPrev2;
    const dod = delta - prevDelta;
    if (!Number.isSafeInteger(dod) || !Number.isSafeInteger(delta) || !Number.isSafeInteger(prevDelta)) {
      this.writeDodBig(BigInt.asIntN(64, BigInt(t) - BigInt(tPrev) - (BigInt(tPrev) - BigInt(tPrev2))));
    } else if (dod === 0) {
      this.put(0, 1);
      this.trailingEmpty = false;
    } else if (dod >= -8191 && dod <= 8192) {
      this.put(0b10, 2);
      this.writeBits(dod & 0x3fff, 14);
    } else if (dod >= -65535 && dod <= 65536) {
      this.put(0b110, 3);
      this.writeBits(dod & 0x1ffff, 17);
    } else if (dod >= -524287 && dod <= 524288) {
      this.put(0b1110, 4);
      this.writeBits(dod & 0xfffff, 20);
    } else {
      this.writeDodBig(BigInt(dod));
    }
  }

  private writeDodBig(dod: bigint): void {
    const u = BigInt.asUintN(64, dod);
    this.put(0b1111, 4);
    this.put(Number(u >> 32n), 32);
    this.put(Number(u & 0xffffffffn), 32);
    this.trailingEmpty = true;
  }
}

/** Creates an empty XOR chunk encoder (Prometheus `NewXORChunk` + its appender). */
export function createXorEncoder(): XorEncoder {
  return new XorChunkEncoder();
}

/** Zeroed scratch buffer shared by one-shot encodes (they are synchronous, so never concurrent). */
let scratch: Uint8Array = new Uint8Array(4096);

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
  const enc = new XorChunkEncoder(scratch);
  let ok = false;
  try {
    if (v instanceof Float64Array) {
      const words = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
      for (let i = from; i < to; i++) enc.appendBits(t[i]!, words[2 * i + 1]!, words[2 * i]!);
    } else {
      for (let i = from; i < to; i++) enc.append(t[i]!, v[i]!);
    }
    const out = enc.takeAndClear();
    ok = true;
    return out;
  } finally {
    // Keep the (possibly grown) buffer when it was cleared; after an error start from a fresh one.
    scratch = ok ? enc.buffer : new Uint8Array(4096);
  }
}
