/**
 * Bounds-checked decoding of the primitive encodings in TSDB files (big-endian integers, Go
 * uvarint/varint, length-prefixed strings). Every failure is a {@link CorruptionError} carrying the
 * absolute file offset, so callers never need their own bounds checks.
 */
import { CorruptionError } from "./errors.ts";
import { crc32c } from "./crc32c.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Thrown instead of a {@link CorruptionError} by a {@link Decoder} in `partial` mode when it runs
 * out of bytes: the caller fetches more and retries (see `section-stream.ts`).
 */
export const NEED_MORE: unique symbol = Symbol("need more bytes");

/** 2^32, for combining 32-bit halves. */
const TWO32 = 4294967296;

/**
 * A cursor over bytes that came from `file` at absolute offset `base`. Not a copy: `bytes` is
 * read in place.
 */
export class Decoder {
  /** Position relative to `bytes`. */
  pos = 0;
  /** When true, running out of bytes throws {@link NEED_MORE} (more data exists beyond `bytes`). */
  partial = false;
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    readonly section: string,
    readonly base = 0,
  ) {}

  /** Absolute file offset of the cursor. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** A {@link CorruptionError} at the cursor (or at `pos`). */
  corrupt(message: string, pos = this.pos): CorruptionError {
    return new CorruptionError(this.file, this.section, this.base + pos, message);
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      if (this.partial) throw NEED_MORE;
      throw this.corrupt(`unexpected end of data: need ${n} bytes, have ${this.bytes.length - this.pos}`);
    }
  }

  /** One byte. */
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  /** Big-endian uint32. */
  be32(): number {
    this.need(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** Big-endian uint64; must be below 2^53 (offsets, sizes). */
  be64(): number {
    const start = this.pos;
    const hi = this.be32();
    const lo = this.be32();
    if (hi >= 0x200000) throw this.corrupt(`64-bit value too large (high word ${hi})`, start);
    return hi * TWO32 + lo;
  }

  /**
   * Go uvarint as a Number. Exact below 2^53; larger values (only ever seen as extreme timestamps
   * such as tombstones over "all time") are rounded to the nearest double.
   */
  uvarint(): number {
    const b = this.bytes;
    let p = this.pos;
    // Fast path: up to 4 bytes (28 bits) with plain int math.
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 4; i++) {
      if (p >= b.length) throw this.eof();
      const c = b[p++]!;
      result |= (c & 0x7f) << shift;
      if (c < 0x80) {
        this.pos = p;
        return result >>> 0;
      }
      shift += 7;
    }
    // Slow path: continue with multiplication (exact up to 2^53), BigInt beyond that.
    let value = result >>> 0;
    let mul = 268435456; // 2^28
    for (let i = 4; i < 10; i++) {
      if (p >= b.length) throw this.eof();
      const c = b[p++]!;
      if (i === 9 && c > 1) throw this.corrupt("varint overflows 64 bits", this.pos);
      value += (c & 0x7f) * mul;
      if (c < 0x80) {
        this.pos = p;
        return value;
      }
      mul *= 128;
    }
    throw this.corrupt("varint longer than 10 bytes");
  }

  private eof(): unknown {
    if (this.partial) return NEED_MORE;
    return this.corrupt("unexpected end of data in varint");
  }

  /** Go uvarint that must fit in uint32 (symbol refs, counts, lengths). */
  uvarint32(): number {
    const start = this.pos;
    const v = this.uvarint();
    if (v > 0xffffffff) throw this.corrupt(`value ${v} exceeds 32 bits`, start);
    return v;
  }

  /**
   * Go varint (zig-zag) as a Number; exact within ±2^53, rounded beyond (see {@link uvarint}).
   */
  varint(): number {
    const start = this.pos;
    const u = this.uvarint();
    if (u <= Number.MAX_SAFE_INTEGER) {
      // zig-zag: even → u/2, odd → -(u+1)/2
      return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    // Re-decode exactly with BigInt for huge magnitudes.
    this.pos = start;
    const big = this.uvarintBig();
    const x = (big >> 1n) ^ -(big & 1n);
    return Number(x);
  }

  /** Go uvarint as an exact BigInt (rarely needed; used for huge zig-zag values). */
  uvarintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const c = this.u8();
      result |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) return result & 0xffffffffffffffffn;
      shift += 7n;
    }
    throw this.corrupt("varint longer than 10 bytes");
  }

  /** `n` bytes, as a view (no copy). */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** uvarint length + UTF-8 bytes. */
  string(): string {
    const start = this.pos;
    const n = this.uvarint32();
    const bytes = this.take(n);
    return decodeUtf8(bytes, this, start);
  }

  /** uvarint length + bytes, as a view. */
  lengthPrefixedBytes(): Uint8Array {
    const n = this.uvarint32();
    return this.take(n);
  }
}

const asciiCache: string[] = [];

/** Decodes UTF-8 with a fast path for short ASCII strings (most label names and values). */
export function decodeUtf8(bytes: Uint8Array, d?: Decoder, pos?: number): string {
  const n = bytes.length;
  if (n === 0) return "";
  if (n <= 32) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (bytes[i]! >= 0x80) { ascii = false; break; }
    }
    if (ascii) {
      if (n === 1) return asciiCache[bytes[0]!] ??= String.fromCharCode(bytes[0]!);
      return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
  }
  try {
    return utf8.decode(bytes);
  } catch {
    if (d) throw d.corrupt("invalid UTF-8 in string", pos);
    throw new Error("invalid UTF-8 in string");
  }
}

/**
 * Checks the big-endian CRC32C stored at `bytes[crcPos..crcPos+4)` against `bytes[start..end)`.
 * `d` supplies file/section/base for the error.
 */
export function verifyCrc(d: Decoder, start: number, end: number, crcPos: number): void {
  const b = d.bytes;
  if (crcPos + 4 > b.length) throw d.corrupt("unexpected end of data: missing CRC32", crcPos);
  const want = ((b[crcPos]! << 24) | (b[crcPos + 1]! << 16) | (b[crcPos + 2]! << 8) | b[crcPos + 3]!) >>> 0;
  const got = crc32c(b.subarray(start, end));
  if (want !== got) {
    throw d.corrupt(`CRC32C mismatch: stored ${hex32(want)}, computed ${hex32(got)} over ${end - start} bytes`, start);
  }
}

/** Reads a big-endian uint32 from `b` at `p` without bounds checks (caller checked). */
export function readBe32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Writes a big-endian uint32. */
export function writeBe32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/** Formats a uint32 as 8 hex digits. */
export function hex32(v: number): string {
  return "0x" + (v >>> 0).toString(16).padStart(8, "0");
}
