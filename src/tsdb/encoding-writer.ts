/**
 * Growable byte buffer with the primitive encodings of Prometheus' TSDB files (`tsdb/encoding`):
 * big-endian fixed-width integers, Go uvarint/varint and length-prefixed strings. The index and
 * chunk writers build their files with it; keeping it runtime-neutral lets blocks be written on
 * Node, Deno and Workers alike.
 */

const textEncoder = new TextEncoder();
const TWO_POW_32 = 2 ** 32;

/** An append-only byte buffer (Prometheus `encoding.Encbuf`). */
export interface EncBuf {
  /** Bytes written so far. */
  readonly length: number;
  putByte(b: number): void;
  putBytes(bytes: Uint8Array): void;
  /** 4-byte big-endian unsigned integer. */
  putBE32(x: number): void;
  /** 8-byte big-endian unsigned integer (exact up to 2^53). */
  putBE64(x: number): void;
  /** Go `binary.PutUvarint`, for non-negative safe integers. */
  putUvarint(x: number): void;
  /** Go `binary.PutUvarint` of a uint64 given as BigInt. */
  putUvarintBig(x: bigint): void;
  /** Go `binary.PutVarint` (zig-zag), for safe integers. */
  putVarint(x: number): void;
  /** uvarint byte length followed by the UTF-8 bytes. */
  putUvarintStr(s: string): void;
  /** Appends zero bytes until `length` is a multiple of `align`. */
  pad(align: number): void;
  /** Overwrites 4 bytes at `offset` with a big-endian uint32 (for length fields written last). */
  setBE32(offset: number, x: number): void;
  /** View of bytes `[from, to)` (valid until the next write). */
  view(from?: number, to?: number): Uint8Array;
  /** Copy of all bytes, trimmed to `length`. */
  finish(): Uint8Array;
}

/** Creates an empty buffer with `initial` bytes of capacity. */
export function createEncBuf(initial = 4096): EncBuf {
  let buf = new Uint8Array(Math.max(16, initial));
  let len = 0;

  function grow(extra: number): void {
    if (len + extra <= buf.length) return;
    let cap = buf.length * 2;
    while (cap < len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(buf.subarray(0, len));
    buf = next;
  }

  function putUvarint(x: number): void {
    if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`uvarint: ${x} is not a non-negative safe integer`);
    grow(10);
    while (x >= 0x80) {
      buf[len++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    buf[len++] = x;
  }

  const api: EncBuf = {
    get length() {
      return len;
    },
    putByte(b) {
      grow(1);
      buf[len++] = b & 0xff;
    },
    putBytes(bytes) {
      grow(bytes.length);
      buf.set(bytes, len);
      len += bytes.length;
    },
    putBE32(x) {
      grow(4);
      buf[len++] = (x >>> 24) & 0xff;
      buf[len++] = (x >>> 16) & 0xff;
      buf[len++] = (x >>> 8) & 0xff;
      buf[len++] = x & 0xff;
    },
    putBE64(x) {
      if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`be64: ${x} is not a non-negative safe integer`);
      api.putBE32(Math.floor(x / TWO_POW_32));
      api.putBE32(x % TWO_POW_32);
    },
    putUvarint,
    putUvarintBig(x) {
      grow(10);
      while (x >= 0x80n) {
        buf[len++] = Number(x & 0x7fn) | 0x80;
        x >>= 7n;
      }
      buf[len++] = Number(x);
    },
    putVarint(x) {
      if (!Number.isSafeInteger(x)) throw new RangeError(`varint: ${x} is not a safe integer`);
      if (Math.abs(x) < 2 ** 52) putUvarint(x >= 0 ? x * 2 : -x * 2 - 1);
      else {
        const b = BigInt(x);
        api.putUvarintBig(BigInt.asUintN(64, (b << 1n) ^ (b >> 63n)));
      }
    },
    putUvarintStr(s) {
      const bytes = textEncoder.encode(s);
      putUvarint(bytes.length);
      api.putBytes(bytes);
    },
    pad(align) {
      const rem = len % align;
      if (rem === 0) return;
      grow(align - rem);
      for (let i = rem; i < align; i++) buf[len++] = 0;
    },
    setBE32(offset, x) {
      buf[offset] = (x >>> 24) & 0xff;
      buf[offset + 1] = (x >>> 16) & 0xff;
      buf[offset + 2] = (x >>> 8) & 0xff;
      buf[offset + 3] = x & 0xff;
    },
    view(from = 0, to = len) {
      return buf.subarray(from, to);
    },
    finish() {
      return buf.slice(0, len);
    },
  };
  return api;
}
