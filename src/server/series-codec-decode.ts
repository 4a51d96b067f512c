/**
 * Decoder half of the hand-written `thanos.Series` / `SeriesBatch` codec (see series-codec.ts):
 * reads protobuf wire bytes into objects of the generated message types, chunk data as views into
 * the input (no copies), frequent label strings interned, unknown fields skipped.
 */
import type { Label } from "../gen/store/labelpb/types_pb.ts";
import type { AggrChunk, Chunk, Series } from "../gen/store/storepb/types_pb.ts";

/** Malformed protobuf bytes; names the message and offset. */
export class SeriesDecodeError extends Error {
  override name = "SeriesDecodeError";
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

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
