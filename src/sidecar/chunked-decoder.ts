/**
 * A hand-written decoder for `prometheus.ChunkedReadResponse`, the message in every streamed
 * remote-read frame, and the sidecar's hot path. Labels become strings (the sidecar matches,
 * overlays and sorts by them); chunks are not turned into objects at all: each is written, while
 * its frame is parsed, straight into a {@link ChunkArena} in its StoreAPI wire form (`thanos.Series`
 * field 2, an `AggrChunk` holding a raw `Chunk`), copying the XOR bytes and the time varints as
 * they are. A series' chunk fields are contiguous in the arena, so the frame builder later copies
 * them with one `set`, and the network buffers are free as soon as a frame is decoded. The output
 * is byte-identical to protobuf-es encoding the equivalent AggrChunks (proto3 defaults left out,
 * hash 0). Unknown fields are skipped as protobuf requires.
 *
 * The parser keeps its cursor in module variables (no closures or objects per frame): it is
 * synchronous and not re-entrant, which JavaScript's single thread guarantees.
 */
import type { Label } from "../model/labels.ts";
import { createChunkArena, retireBlock, type ArenaBlock, type ChunkArena, type EncodedChunks } from "./chunk-arena.ts";
import { asciiOrUtf8 } from "./interned-strings.ts";

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

// The frame being decoded, the cursor (relative to the array, not to `start`), and the arena.
let B: Uint8Array = new Uint8Array(0);
let P = 0;
let BASE = 0;
let A: ChunkArena = createChunkArena(0);
// Where the current series' chunk fields begin in A.block.
let seriesStart = 0;

function fail(what: string): never {
  throw new ChunkedDecodeError(`invalid ChunkedReadResponse at byte ${P - BASE}: ${what}`);
}

// Varint as a JS number (exact below 2^53; int64 fields beyond that are not valid timestamps).
function varint(end: number): number {
  let b = P < end ? B[P++]! : fail("truncated varint");
  if (b < 0x80) return b;
  let result = b & 0x7f;
  let mul = 128;
  for (let i = 1; i < 10; i++) {
    b = P < end ? B[P++]! : fail("truncated varint");
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
  }
  return fail("varint too long");
}

function skip(wireType: number, end: number): void {
  switch (wireType) {
    case 0:
      varint(end);
      return;
    case 1:
      P += 8;
      break;
    case 2: {
      const n = varint(end);
      P += n;
      break;
    }
    case 5:
      P += 4;
      break;
    default:
      fail(`unsupported wire type ${wireType}`);
  }
  if (P > end) fail("truncated field");
}

function lengthDelimited(end: number): number {
  const len = varint(end);
  const e = P + len;
  if (e > end) fail("length beyond the end of its message");
  return e;
}

// Whole labels repeat even more than strings (metric name, job, the external labels Prometheus
// merges into every series): a direct-mapped cache keyed by the label message's bytes returns the
// same (immutable) Label object for a repeat, without decoding its strings again.
const LABEL_SLOTS = 2048;
const LABEL_KEY_MAX = 64;
const labelKeys = new Uint8Array(LABEL_SLOTS * LABEL_KEY_MAX);
const labelKeyLength = new Int32Array(LABEL_SLOTS).fill(-1);
const labelObjects: (Label | undefined)[] = new Array<Label | undefined>(LABEL_SLOTS).fill(undefined);
const labelCanonical = new Uint8Array(LABEL_SLOTS);
// Admission: a label enters the cache only on its second sighting (its hash is remembered here,
// without keeping any object alive). One-off labels (an instance per series) would otherwise be
// kept by the old cache array until evicted, survive scavenges and fill the old generation:
// frequent full GCs. The string cache (interned-strings.ts) does the same.
const SEEN_SLOTS = 4096;
const labelSeen = new Int32Array(SEEN_SLOTS);
// Whether the label just returned by label() was in canonical form (see decodeLabel).
let lastCanonical = false;

function label(end: number): Label {
  const start = P;
  const n = end - start;
  if (n > LABEL_KEY_MAX) return decodeLabel(end);
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ B[i]!, 0x01000193);
  const slot = (h >>> 0) & (LABEL_SLOTS - 1);
  const base = slot * LABEL_KEY_MAX;
  if (labelKeyLength[slot] === n) {
    let i = 0;
    while (i < n && labelKeys[base + i] === B[start + i]) i++;
    if (i === n) {
      P = end;
      lastCanonical = labelCanonical[slot] === 1;
      return labelObjects[slot]!;
    }
  }
  const l = decodeLabel(end);
  const seen = (h >>> 12) & (SEEN_SLOTS - 1);
  if (labelSeen[seen] !== h) {
    labelSeen[seen] = h;
    return l;
  }
  for (let i = 0; i < n; i++) labelKeys[base + i] = B[start + i]!;
  labelKeyLength[slot] = n;
  labelObjects[slot] = l;
  labelCanonical[slot] = lastCanonical ? 1 : 0;
  return l;
}

// Decodes a label; sets lastCanonical when its bytes are exactly protobuf-es' encoding of it:
// name then value, each present only when non-empty, minimal length varints, nothing else.
function decodeLabel(end: number): Label {
  let name = "";
  let value = "";
  let canonical = true;
  let lastField = 0;
  while (P < end) {
    const tag = varint(end);
    if (tag === 0x0a || tag === 0x12) {
      const lenStart = P;
      const e = lengthDelimited(end);
      const field = tag >>> 3;
      if (field <= lastField || e === P || P - lenStart !== varintSize(e - P)) canonical = false;
      lastField = field;
      const s = asciiOrUtf8(B, P, e);
      P = e;
      if (tag === 0x0a) name = s;
      else value = s;
    } else {
      canonical = false;
      skip(tag & 7, end);
    }
  }
  lastCanonical = canonical;
  return { name, value };
}

/** Makes room for `n` more bytes of the current series' chunk fields (which stay contiguous). */
function reserve(n: number): void {
  if (A.pos + n <= A.block.bytes.length) return;
  const old = A.block;
  const done = A.pos - seriesStart;
  const size = Math.max(A.blockBytes, 2 * (done + n));
  const reuse = size === A.blockBytes ? A.spare.pop() : undefined;
  const next: ArenaBlock = reuse ?? { bytes: new Uint8Array(size), live: 0, arena: A };
  if (!reuse) A.heldBytes += size;
  next.bytes.set(old.bytes.subarray(seriesStart, A.pos));
  A.block = next;
  A.pos = done;
  seriesStart = 0;
  // The series moved: the old block lost it; recycle it if nothing else is pending there.
  next.live++;
  if (--old.live === 0) retireBlock(A, old);
}

// Writes one prometheus.Chunk (B[P, end)) to the arena as `0x12 len AggrChunk{1: min, 2: max, 3: Chunk{1: type, 2: data}}`.
function chunk(end: number): void {
  let minStart = 0;
  let minEnd = 0;
  let maxStart = 0;
  let maxEnd = 0;
  let type = 0;
  let dataStart = 0;
  let dataEnd = 0;
  while (P < end) {
    const tag = varint(end);
    if (tag === 0x08) {
      minStart = P;
      varint(end);
      minEnd = P;
    } else if (tag === 0x10) {
      maxStart = P;
      varint(end);
      maxEnd = P;
    } else if (tag === 0x18) type = varint(end);
    else if (tag === 0x22) {
      dataEnd = lengthDelimited(end);
      dataStart = P;
      P = dataEnd;
    } else skip(tag & 7, end);
  }
  if (type < 1 || type > 3) fail(`unsupported chunk encoding ${type}`);
  // A zero varint is proto3's default: left out, as protobuf-es leaves it out.
  const minLen = minEnd - minStart === 1 && B[minStart] === 0 ? 0 : minEnd - minStart;
  const maxLen = maxEnd - maxStart === 1 && B[maxStart] === 0 ? 0 : maxEnd - maxStart;
  const dataLen = dataEnd - dataStart;
  // thanos.Chunk: type = prometheus type − 1 (XOR = 0, left out), data.
  const rawLen = (type > 1 ? 2 : 0) + (dataLen > 0 ? 1 + varintSize(dataLen) + dataLen : 0);
  const aggrLen = (minLen > 0 ? 1 + minLen : 0) + (maxLen > 0 ? 1 + maxLen : 0) + 1 + varintSize(rawLen) + rawLen;
  reserve(1 + varintSize(aggrLen) + aggrLen);
  const out = A.block.bytes;
  let o = A.pos;
  out[o++] = 0x12;
  o = writeVarint(out, o, aggrLen);
  // The time varints (≤ 10 bytes) byte by byte: cheaper than a subarray and a set.
  if (minLen > 0) {
    out[o++] = 0x08;
    for (let i = minStart; i < minEnd; i++) out[o++] = B[i]!;
  }
  if (maxLen > 0) {
    out[o++] = 0x10;
    for (let i = maxStart; i < maxEnd; i++) out[o++] = B[i]!;
  }
  out[o++] = 0x1a;
  o = writeVarint(out, o, rawLen);
  if (type > 1) {
    out[o++] = 0x08;
    out[o++] = type - 1;
  }
  if (dataLen > 0) {
    out[o++] = 0x12;
    o = writeVarint(out, o, dataLen);
    out.set(B.subarray(dataStart, dataEnd), o);
    o += dataLen;
  }
  A.pos = o;
}

function series(end: number): DecodedChunkedSeries {
  const labels: Label[] = [];
  seriesStart = A.pos;
  A.block.live++;
  let chunkCount = 0;
  // The label fields, when they come first, back to back and each canonical (as Prometheus
  // writes them), are copied ahead of the chunk fields: the frame builder can then reuse them.
  const labelsFrom = P;
  let labelsTo = P;
  let labelsCanonical = true;
  let labelSize = -1; // bytes copied to the arena; -1 until the first non-label field
  while (P < end) {
    const fieldStart = P;
    const tag = varint(end);
    if (tag === 0x0a) {
      const lenStart = P;
      const e = lengthDelimited(end);
      if (labelSize >= 0 || fieldStart !== labelsTo || P - lenStart !== varintSize(e - P)) labelsCanonical = false;
      labels.push(label(e));
      if (!lastCanonical) labelsCanonical = false;
      labelsTo = P;
    } else {
      if (labelSize < 0) labelSize = copyLabels(labelsFrom, labelsCanonical ? labelsTo : labelsFrom);
      if (tag === 0x12) {
        chunk(lengthDelimited(end));
        chunkCount++;
      } else {
        skip(tag & 7, end);
      }
    }
  }
  if (labelSize < 0) labelSize = copyLabels(labelsFrom, labelsCanonical ? labelsTo : labelsFrom);
  const block = A.block;
  const start = seriesStart + labelSize;
  return {
    labels,
    chunks: labelsCanonical && labelSize > 0
      ? { buf: block.bytes, start, size: A.pos - start, block, labelsOf: labels, labelSize }
      : { buf: block.bytes, start, size: A.pos - start, block },
    chunkCount,
  };
}

// Copies B[from, to) (label fields) to the start of the current series' arena record.
function copyLabels(from: number, to: number): number {
  const n = to - from;
  if (n === 0) return 0;
  reserve(n);
  A.block.bytes.set(B.subarray(from, to), A.pos);
  A.pos += n;
  return n;
}

/**
 * Decodes one ChunkedReadResponse (`buf[start, end)`), writing chunk fields into `arena` (a fresh
 * one by default); chunk encodings are mapped to thanos' (prometheus − 1).
 */
export function decodeChunkedReadResponse(buf: Uint8Array, start = 0, end = buf.length, arena: ChunkArena = createChunkArena(Math.max(64, end - start + 64))): DecodedChunkedReadResponse {
  B = buf;
  P = BASE = start;
  A = arena;
  try {
    const result: DecodedChunkedSeries[] = [];
    let queryIndex = 0;
    while (P < end) {
      const tag = varint(end);
      if (tag === 0x0a) result.push(series(lengthDelimited(end)));
      else if (tag === 0x10) queryIndex = varint(end);
      else skip(tag & 7, end);
    }
    return { series: result, queryIndex };
  } finally {
    B = EMPTY; // do not keep the network buffer alive
  }
}

const EMPTY = new Uint8Array(0);

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
