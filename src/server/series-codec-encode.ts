/**
 * Encoder half of the hand-written `thanos.Series` / `SeriesBatch` codec (see series-codec.ts):
 * writes the same bytes as protobuf-es `toBinary`.
 */
import type { Chunk, Series } from "../gen/store/storepb/types_pb.ts";

const utf8Encoder = new TextEncoder();

// Encoding: a size pass (no allocations; nested sizes kept in a scratch array in write order),
// then one write pass into an exact-size buffer.

const MAX_SAFE = 9007199254740991n;

function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function varint64Size(v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE) {
    let n = Number(v);
    let size = 1;
    while (n >= 128) { n = Math.floor(n / 128); size++; }
    return size;
  }
  if (v < 0n) return 10; // negative int64: two's complement, always 10 bytes
  // Above 2^53 (e.g. every chunk hash): compare instead of shifting a BigInt 7 bits at a time.
  return v < 0x100000000000000n ? 8 : v < 0x8000000000000000n ? 9 : 10;
}

/** UTF-8 byte length of a string without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 2; i++; }
    else n += 2;
  }
  return n;
}

class Writer {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(size: number) { this.buf = new Uint8Array(size); }
  byte(b: number): void { this.buf[this.pos++] = b; }
  varint32(v: number): void {
    while (v >= 0x80) { this.buf[this.pos++] = (v & 0x7f) | 0x80; v >>>= 7; }
    this.buf[this.pos++] = v;
  }
  varint64(v: bigint): void {
    const b = this.buf;
    if (v >= 0n && v <= MAX_SAFE) {
      let n = Number(v);
      while (n >= 128) { b[this.pos++] = (n % 128) | 0x80; n = Math.floor(n / 128); }
      b[this.pos++] = n;
      return;
    }
    const u = BigInt.asUintN(64, v);
    let lo = Number(u & 0xffffffffn);
    let hi = Number(u >> 32n);
    while (hi > 0 || lo >= 0x80) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[this.pos++] = lo;
  }
  string(s: string, byteLength: number): void {
    if (byteLength === s.length) {
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
    } else {
      utf8Encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + byteLength));
      this.pos += byteLength;
    }
  }
  bytes(b: Uint8Array): void { this.buf.set(b, this.pos); this.pos += b.length; }
}

function chunkSize(ch: Chunk): number {
  let n = 0;
  if (ch.type !== 0) n += 1 + varint32Size(ch.type);
  if (ch.data.length > 0) n += 1 + varint32Size(ch.data.length) + ch.data.length;
  if (ch.hash !== 0n) n += 1 + varint64Size(ch.hash);
  return n;
}

/**
 * Size of a Series' content. Pushes, in write order: per label its name length, value length and
 * content size; per AggrChunk its content size followed by the sizes of its set chunk fields.
 */
function sizeSeries(s: Series, scratch: number[]): number {
  let size = 0;
  for (const l of s.labels) {
    const nl = utf8Length(l.name);
    const vl = utf8Length(l.value);
    let ls = 0;
    if (nl > 0) ls += 1 + varint32Size(nl) + nl;
    if (vl > 0) ls += 1 + varint32Size(vl) + vl;
    scratch.push(nl, vl, ls);
    size += 1 + varint32Size(ls) + ls;
  }
  for (const a of s.chunks) {
    const at = scratch.length;
    scratch.push(0);
    let cs = 0;
    if (a.minTime !== 0n) cs += 1 + varint64Size(a.minTime);
    if (a.maxTime !== 0n) cs += 1 + varint64Size(a.maxTime);
    // Field order 3..8: raw, count, sum, min, max, counter.
    if (a.raw !== undefined) cs += sizeChunkField(a.raw, scratch);
    if (a.count !== undefined) cs += sizeChunkField(a.count, scratch);
    if (a.sum !== undefined) cs += sizeChunkField(a.sum, scratch);
    if (a.min !== undefined) cs += sizeChunkField(a.min, scratch);
    if (a.max !== undefined) cs += sizeChunkField(a.max, scratch);
    if (a.counter !== undefined) cs += sizeChunkField(a.counter, scratch);
    scratch[at] = cs;
    size += 1 + varint32Size(cs) + cs;
  }
  return size;
}

/** Writes a Series' content; `k` indexes `scratch` as {@link sizeSeries} filled it; returns the next index. */
function writeSeries(w: Writer, s: Series, scratch: readonly number[], k: number): number {
  for (const l of s.labels) {
    const nl = scratch[k++]!;
    const vl = scratch[k++]!;
    w.byte(0x0a);
    w.varint32(scratch[k++]!);
    if (nl > 0) { w.byte(0x0a); w.varint32(nl); w.string(l.name, nl); }
    if (vl > 0) { w.byte(0x12); w.varint32(vl); w.string(l.value, vl); }
  }
  for (const a of s.chunks) {
    w.byte(0x12);
    w.varint32(scratch[k++]!);
    if (a.minTime !== 0n) { w.byte(0x08); w.varint64(a.minTime); }
    if (a.maxTime !== 0n) { w.byte(0x10); w.varint64(a.maxTime); }
    if (a.raw !== undefined) writeChunkField(w, 0x1a, a.raw, scratch[k++]!);
    if (a.count !== undefined) writeChunkField(w, 0x22, a.count, scratch[k++]!);
    if (a.sum !== undefined) writeChunkField(w, 0x2a, a.sum, scratch[k++]!);
    if (a.min !== undefined) writeChunkField(w, 0x32, a.min, scratch[k++]!);
    if (a.max !== undefined) writeChunkField(w, 0x3a, a.max, scratch[k++]!);
    if (a.counter !== undefined) writeChunkField(w, 0x42, a.counter, scratch[k++]!);
  }
  return k;
}

function sizeChunkField(ch: Chunk, scratch: number[]): number {
  const n = chunkSize(ch);
  scratch.push(n);
  return 1 + varint32Size(n) + n;
}

function writeChunkField(w: Writer, tag: number, ch: Chunk, size: number): void {
  w.byte(tag);
  w.varint32(size);
  if (ch.type !== 0) { w.byte(0x08); w.varint32(ch.type); }
  if (ch.data.length > 0) { w.byte(0x12); w.varint32(ch.data.length); w.bytes(ch.data); }
  if (ch.hash !== 0n) { w.byte(0x18); w.varint64(ch.hash); }
}

/** Encodes a `thanos.Series`, byte-identical to protobuf-es `toBinary(SeriesSchema, s)`. */
export function encodeSeries(s: Series): Uint8Array {
  const scratch: number[] = [];
  const w = new Writer(sizeSeries(s, scratch));
  writeSeries(w, s, scratch, 0);
  return w.buf;
}

/** Encodes a `thanos.SeriesBatch` from its series, byte-identical to protobuf-es. */
export function encodeSeriesBatch(series: readonly Series[]): Uint8Array {
  const scratch: number[] = [];
  const sizes: number[] = [];
  let total = 0;
  for (const s of series) {
    const size = sizeSeries(s, scratch);
    sizes.push(size);
    total += 1 + varint32Size(size) + size;
  }
  const w = new Writer(total);
  let k = 0;
  for (let i = 0; i < series.length; i++) {
    w.byte(0x0a);
    w.varint32(sizes[i]!);
    k = writeSeries(w, series[i]!, scratch, k);
  }
  return w.buf;
}
