/**
 * Hand-written protobuf codec for the StoreAPI's hot messages (`thanos.Series`, `SeriesBatch`):
 * Series frames are most of the bytes between stores and queriers, and the generic reflection-based
 * codec of protobuf-es spends several microseconds per series. This codec produces and reads exactly
 * the same wire bytes (field order, packed/varint forms, defaults omitted — checked against
 * protobuf-es in tests) and returns objects of the generated message types, so callers cannot tell
 * the difference. Unknown fields are skipped on decode.
 */
import type { Label } from "../gen/store/labelpb/types_pb.ts";
import type { AggrChunk, Chunk, Series } from "../gen/store/storepb/types_pb.ts";

/** Malformed protobuf bytes; names the message and offset. */
export class SeriesDecodeError extends Error {
  override name = "SeriesDecodeError";
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Decoding

interface Cursor {
  buf: Uint8Array;
  pos: number;
}

function fail(what: string, c: Cursor, msg: string): never {
  throw new SeriesDecodeError(`decode ${what}: ${msg} at byte offset ${c.pos}`);
}

/** Reads a varint that fits in 32 bits of interest (tags, lengths, enums); larger ones are truncated like protobuf does for int32. */
function readVarint32(c: Cursor, what: string): number {
  const b = c.buf;
  let p = c.pos;
  let x = 0;
  let shift = 0;
  for (;;) {
    if (p >= b.length) fail(what, c, "truncated varint");
    const byte = b[p++]!;
    if (shift < 32) x |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
    if (shift >= 70) fail(what, c, "varint too long");
  }
  c.pos = p;
  return x >>> 0;
}

/** Reads a 64-bit varint as bigint (signed when `signed`), with a fast path for values below 2^49. */
function readVarint64(c: Cursor, what: string, signed: boolean): bigint {
  const b = c.buf;
  let p = c.pos;
  let lo = 0;
  let hi = 0;
  let shift = 0;
  let byte: number;
  // Low 28 bits.
  do {
    if (p >= b.length) fail(what, c, "truncated varint");
    byte = b[p++]!;
    lo |= (byte & 0x7f) << shift;
    shift += 7;
  } while ((byte & 0x80) !== 0 && shift < 28);
  if ((byte & 0x80) === 0) {
    c.pos = p;
    return BigInt(lo >>> 0);
  }
  // Bits 28..34 straddle lo and hi.
  if (p >= b.length) fail(what, c, "truncated varint");
  byte = b[p++]!;
  lo |= (byte & 0x0f) << 28;
  hi = (byte & 0x7f) >> 4;
  shift = 3;
  while ((byte & 0x80) !== 0) {
    if (p >= b.length) fail(what, c, "truncated varint");
    if (p - c.pos >= 10) fail(what, c, "varint too long");
    byte = b[p++]!;
    if (shift < 32) hi |= (byte & 0x7f) << shift;
    shift += 7;
  }
  c.pos = p;
  lo >>>= 0;
  hi >>>= 0;
  if (hi < 0x200000) return BigInt(hi * 4294967296 + lo); // below 2^53: exact as a number
  // Above (chunk hashes, negative times): one BigInt read from the 64-bit scratch word instead of
  // building it from shifted and or-ed BigInt halves (four allocations).
  wordScratch[LO_WORD] = lo;
  wordScratch[HI_WORD] = hi;
  return signed ? i64Scratch[0]! : u64Scratch[0]!;
}

// One 64-bit word seen as two u32 halves and as (un)signed int64; halves in platform byte order.
const u64Scratch = new BigUint64Array(1);
const i64Scratch = new BigInt64Array(u64Scratch.buffer);
const wordScratch = new Uint32Array(u64Scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO_WORD = LITTLE_ENDIAN ? 0 : 1;
const HI_WORD = LITTLE_ENDIAN ? 1 : 0;

function readLength(c: Cursor, what: string): number {
  const n = readVarint32(c, what);
  if (c.pos + n > c.buf.length) fail(what, c, `length ${n} exceeds the remaining ${c.buf.length - c.pos} bytes`);
  return n;
}

/**
 * Intern table for short ASCII strings. Label names and most label values repeat across series
 * (`__name__`, `job`, `cluster="eu"`): returning the same string instance saves the allocation and
 * the memory of one copy per series. Direct-mapped by an FNV-1a hash of the bytes; a collision
 * simply replaces the entry.
 */
const INTERN_SLOTS = 4096;
const internTable: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

function readString(c: Cursor, what: string): string {
  const n = readLength(c, what);
  const b = c.buf;
  const start = c.pos;
  const end = start + n;
  c.pos = end;
  if (n > 32) return utf8.decode(b.subarray(start, end));
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const ch = b[i]!;
    if (ch >= 0x80) return utf8.decode(b.subarray(start, end));
    h = Math.imul(h ^ ch, 0x01000193);
  }
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const cached = internTable[slot];
  if (cached !== undefined && cached.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) if (cached.charCodeAt(i) !== b[start + i]) { same = false; break; }
    if (same) return cached;
  }
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  internTable[slot] = s;
  return s;
}

function skipField(c: Cursor, wireType: number, what: string): void {
  switch (wireType) {
    case 0: readVarint32(c, what); return;
    case 1: c.pos += 8; break;
    case 2: c.pos += readLength(c, what); return;
    case 5: c.pos += 4; break;
    default: fail(what, c, `unsupported wire type ${wireType}`);
  }
  if (c.pos > c.buf.length) fail(what, c, "truncated fixed-width field");
}

function decodeLabel(c: Cursor, end: number): Label {
  let name = "";
  let value = "";
  while (c.pos < end) {
    const tag = readVarint32(c, "thanos.Label");
    const f = tag >>> 3;
    if (f === 1 && (tag & 7) === 2) name = readString(c, "thanos.Label.name");
    else if (f === 2 && (tag & 7) === 2) value = readString(c, "thanos.Label.value");
    else skipField(c, tag & 7, "thanos.Label");
  }
  return { $typeName: "thanos.Label", name, value };
}

function decodeChunk(c: Cursor, end: number): Chunk {
  let type = 0;
  let data: Uint8Array = EMPTY;
  let hash = 0n;
  while (c.pos < end) {
    const tag = readVarint32(c, "thanos.Chunk");
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === 0) type = readVarint32(c, "thanos.Chunk.type");
    else if (f === 2 && wt === 2) {
      const n = readLength(c, "thanos.Chunk.data");
      data = c.buf.subarray(c.pos, c.pos + n); // a view: no copy of chunk bytes
      c.pos += n;
    } else if (f === 3 && wt === 0) hash = readVarint64(c, "thanos.Chunk.hash", false);
    else skipField(c, wt, "thanos.Chunk");
  }
  return { $typeName: "thanos.Chunk", type, data, hash };
}

const EMPTY = new Uint8Array(0);
const CHUNK_FIELDS = [undefined, undefined, undefined, "raw", "count", "sum", "min", "max", "counter"] as const;

function decodeAggrChunk(c: Cursor, end: number): AggrChunk {
  let minTime = 0n;
  let maxTime = 0n;
  let raw: Chunk | undefined;
  let others: Chunk[] | undefined; // by field number; only downsampled chunks have them
  while (c.pos < end) {
    const tag = readVarint32(c, "thanos.AggrChunk");
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === 0) minTime = readVarint64(c, "thanos.AggrChunk.min_time", true);
    else if (f === 2 && wt === 0) maxTime = readVarint64(c, "thanos.AggrChunk.max_time", true);
    else if (f === 3 && wt === 2) {
      const n = readLength(c, "thanos.AggrChunk");
      raw = decodeChunk(c, c.pos + n);
    } else if (f >= 4 && f <= 8 && wt === 2) {
      const n = readLength(c, "thanos.AggrChunk");
      (others ??= [])[f] = decodeChunk(c, c.pos + n);
    } else skipField(c, wt, "thanos.AggrChunk");
  }
  // Raw chunks (every chunk of raw-resolution data) get one object literal of one shape.
  if (others === undefined) {
    return raw === undefined ? { $typeName: "thanos.AggrChunk", minTime, maxTime } : { $typeName: "thanos.AggrChunk", minTime, maxTime, raw };
  }
  const out: AggrChunk = { $typeName: "thanos.AggrChunk", minTime, maxTime };
  if (raw !== undefined) out.raw = raw;
  for (let f = 4; f <= 8; f++) if (others[f] !== undefined) out[CHUNK_FIELDS[f]!] = others[f];
  return out;
}

function decodeSeriesAt(c: Cursor, end: number): Series {
  const labels: Label[] = [];
  const chunks: AggrChunk[] = [];
  while (c.pos < end) {
    const tag = readVarint32(c, "thanos.Series");
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === 2) {
      const n = readLength(c, "thanos.Series.labels");
      labels.push(decodeLabel(c, c.pos + n));
    } else if (f === 2 && wt === 2) {
      const n = readLength(c, "thanos.Series.chunks");
      chunks.push(decodeAggrChunk(c, c.pos + n));
    } else skipField(c, wt, "thanos.Series");
  }
  if (c.pos !== end) fail("thanos.Series", c, "field overruns its message");
  return { $typeName: "thanos.Series", labels, chunks };
}

/** Decodes `thanos.Series` bytes. Chunk `data` are views into `buf` (no copies). */
export function decodeSeries(buf: Uint8Array): Series {
  const c: Cursor = { buf, pos: 0 };
  return decodeSeriesAt(c, buf.length);
}

/** Decodes `thanos.SeriesBatch` bytes into its series. */
export function decodeSeriesBatch(buf: Uint8Array): Series[] {
  const c: Cursor = { buf, pos: 0 };
  const out: Series[] = [];
  while (c.pos < buf.length) {
    const tag = readVarint32(c, "thanos.SeriesBatch");
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const n = readLength(c, "thanos.SeriesBatch.series");
      out.push(decodeSeriesAt(c, c.pos + n));
    } else skipField(c, tag & 7, "thanos.SeriesBatch");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
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
