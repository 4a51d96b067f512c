/**
 * A hand-written decoder for `prometheus.ChunkedReadResponse`, the message in every streamed
 * remote-read frame, and the sidecar's hot path. Labels become strings (the sidecar matches,
 * overlays and sorts by them); chunks are not turned into objects at all: the decoder records
 * where their fields are, and {@link writeEncodedChunks} later writes each straight into the
 * outgoing Series frame in its StoreAPI wire form (`thanos.Series` field 2, an `AggrChunk` holding
 * a raw `Chunk`), copying the XOR bytes and the time varints as they are. The output is byte-identical to protobuf-es encoding the equivalent AggrChunks
 * (proto3 defaults left out, hash 0). Unknown fields are skipped as protobuf requires.
 */
import type { Label } from "../model/labels.ts";

/**
 * A series' chunks as `thanos.Series` chunk fields (`0x12 len AggrChunk`, repeated), written by
 * {@link writeEncodedChunks} straight into the outgoing frame: either positions of the fields in
 * the remote-read frame `buf` (no copy until then), or, without `refs`, ready bytes in `buf`.
 */
export interface EncodedChunks {
  readonly buf: Uint8Array;
  /** Per chunk 9 numbers: min start, min length, max start, max length, thanos type, data start, data length, AggrChunk size, Chunk size. */
  readonly refs?: number[];
  /** Encoded size in bytes. */
  readonly size: number;
}

/** One series of a frame: labels as sent (sorted) and its chunks, ready to be appended to an encoded Series. */
export interface DecodedChunkedSeries {
  readonly labels: Label[];
  readonly chunks: EncodedChunks;
  /** Number of chunks in `chunks`. */
  readonly chunkCount: number;
}

/** A decoded frame. */
export interface DecodedChunkedReadResponse {
  readonly series: DecodedChunkedSeries[];
  readonly queryIndex: number;
}

/** Malformed frame; the message names the field and the byte offset inside the frame. */
export class ChunkedDecodeError extends Error {
  override name = "ChunkedDecodeError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes one ChunkedReadResponse; chunk encodings are mapped to thanos' (prometheus − 1). */
export function decodeChunkedReadResponse(buf: Uint8Array): DecodedChunkedReadResponse {
  let pos = 0;

  function fail(what: string): never {
    throw new ChunkedDecodeError(`invalid ChunkedReadResponse at byte ${pos}: ${what}`);
  }

  // Varint as a JS number (exact below 2^53; int64 fields beyond that are not valid timestamps).
  function varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) fail("truncated varint");
      const b = buf[pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return fail("varint too long");
  }

  function skip(wireType: number): void {
    switch (wireType) {
      case 0:
        varint();
        return;
      case 1:
        pos += 8;
        break;
      case 2: {
        // Not `pos += varint()`: that reads pos before varint() advances it.
        const n = varint();
        pos += n;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        fail(`unsupported wire type ${wireType}`);
    }
    if (pos > buf.length) fail("truncated field");
  }

  function lengthDelimited(): number {
    const len = varint();
    const end = pos + len;
    if (end > buf.length) fail("length beyond end of frame");
    return end;
  }

  function label(end: number): Label {
    let name = "";
    let value = "";
    while (pos < end) {
      const tag = varint();
      const field = tag >>> 3;
      if ((field === 1 || field === 2) && (tag & 7) === 2) {
        const e = lengthDelimited();
        const s = asciiOrUtf8(buf, pos, e);
        pos = e;
        if (field === 1) name = s;
        else value = s;
      } else skip(tag & 7);
    }
    if (pos !== end) fail("label overruns its message");
    return { name, value };
  }

  // Field positions of the current series' chunks (see EncodedChunks.refs) and their output size.
  let refs: number[] = [];
  let size = 0;

  // Records one prometheus.Chunk (buf[pos, end)) for writing as `0x12 len AggrChunk{1: min, 2: max, 3: Chunk{1: type, 2: data}}`.
  function chunk(end: number): void {
    let minStart = 0;
    let minEnd = 0;
    let maxStart = 0;
    let maxEnd = 0;
    let type = 0;
    let dataStart = 0;
    let dataEnd = 0;
    while (pos < end) {
      const tag = varint();
      switch (tag) {
        case (1 << 3) | 0:
          minStart = pos;
          varint();
          minEnd = pos;
          break;
        case (2 << 3) | 0:
          maxStart = pos;
          varint();
          maxEnd = pos;
          break;
        case (3 << 3) | 0:
          type = varint();
          break;
        case (4 << 3) | 2: {
          dataEnd = lengthDelimited();
          dataStart = pos;
          pos = dataEnd;
          break;
        }
        default:
          skip(tag & 7);
      }
    }
    if (pos !== end) fail("chunk overruns its message");
    if (type < 1 || type > 3) fail(`unsupported chunk encoding ${type}`);
    // A zero varint is proto3's default: left out, as protobuf-es leaves it out.
    const minLen = minEnd - minStart === 1 && buf[minStart] === 0 ? 0 : minEnd - minStart;
    const maxLen = maxEnd - maxStart === 1 && buf[maxStart] === 0 ? 0 : maxEnd - maxStart;
    const dataLen = dataEnd - dataStart;
    // thanos.Chunk: type = prometheus type − 1 (XOR = 0, left out), data.
    const rawLen = (type > 1 ? 2 : 0) + (dataLen > 0 ? 1 + varintSize(dataLen) + dataLen : 0);
    const aggrLen = (minLen > 0 ? 1 + minLen : 0) + (maxLen > 0 ? 1 + maxLen : 0) + 1 + varintSize(rawLen) + rawLen;
    refs.push(minStart, minLen, maxStart, maxLen, type - 1, dataStart, dataLen, aggrLen, rawLen);
    size += 1 + varintSize(aggrLen) + aggrLen;
  }

  function series(end: number): DecodedChunkedSeries {
    const labels: Label[] = [];
    refs = [];
    size = 0;
    let chunkCount = 0;
    while (pos < end) {
      const tag = varint();
      if (tag === ((1 << 3) | 2)) labels.push(label(lengthDelimited()));
      else if (tag === ((2 << 3) | 2)) {
        chunk(lengthDelimited());
        chunkCount++;
      } else skip(tag & 7);
    }
    if (pos !== end) fail("series overruns its message");
    return { labels, chunks: { buf, refs, size }, chunkCount };
  }

  const result: DecodedChunkedSeries[] = [];
  let queryIndex = 0;
  while (pos < buf.length) {
    const tag = varint();
    if (tag === ((1 << 3) | 2)) result.push(series(lengthDelimited()));
    else if (tag === ((2 << 3) | 0)) queryIndex = varint();
    else skip(tag & 7);
  }
  return { series: result, queryIndex };
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint(b: Uint8Array, o: number, v: number): number {
  while (v >= 0x80) {
    b[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[o++] = v;
  return o;
}

/**
 * Writes `c` at `out[o]` (which must have `c.size` bytes free) and returns the end offset: the
 * chunk fields of a thanos.Series, each AggrChunk built from the recorded positions, copying the
 * time varints and the chunk bytes as they are.
 */
export function writeEncodedChunks(out: Uint8Array, o: number, c: EncodedChunks): number {
  const { buf, refs } = c;
  if (!refs) {
    out.set(buf, o);
    return o + buf.length;
  }
  for (let k = 0; k < refs.length; k += 9) {
    const minStart = refs[k]!;
    const minLen = refs[k + 1]!;
    const maxStart = refs[k + 2]!;
    const maxLen = refs[k + 3]!;
    const type = refs[k + 4]!;
    const dataStart = refs[k + 5]!;
    const dataLen = refs[k + 6]!;
    out[o++] = 0x12;
    o = writeVarint(out, o, refs[k + 7]!);
    // The time varints (≤ 10 bytes) byte by byte: cheaper than a subarray and a set.
    if (minLen > 0) {
      out[o++] = 0x08;
      for (let i = minStart; i < minStart + minLen; i++) out[o++] = buf[i]!;
    }
    if (maxLen > 0) {
      out[o++] = 0x10;
      for (let i = maxStart; i < maxStart + maxLen; i++) out[o++] = buf[i]!;
    }
    out[o++] = 0x1a;
    o = writeVarint(out, o, refs[k + 8]!);
    if (type > 0) {
      out[o++] = 0x08;
      out[o++] = type;
    }
    if (dataLen > 0) {
      out[o++] = 0x12;
      o = writeVarint(out, o, dataLen);
      out.set(buf.subarray(dataStart, dataStart + dataLen), o);
      o += dataLen;
    }
  }
  return o;
}

/** The bytes of `c` (tests, and callers that want them materialised). */
export function encodedChunksBytes(c: EncodedChunks): Uint8Array {
  const out = new Uint8Array(c.size);
  writeEncodedChunks(out, 0, c);
  return out;
}


// Label names and values are nearly always short ASCII and repeat from series to series (names,
// metric names, job, ...). A direct-mapped cache keyed by an FNV-1a hash of the bytes returns the
// same string instance for repeats: no allocation, less garbage, and faster comparisons later.
const INTERN_SLOTS = 4096;
const interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

function asciiOrUtf8(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n > 48) return utf8.decode(buf.subarray(start, end));
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return utf8.decode(buf.subarray(start, end));
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const hit = interned[slot];
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return hit;
  }
  const s = n <= 16 ? String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]) : latin1.decode(buf.subarray(start, end));
  interned[slot] = s;
  return s;
}

// ASCII-only input here, so latin1 decoding is exact.
const latin1 = new TextDecoder("latin1");
