/**
 * Batch XOR chunk decoding through the WASM kernel (`wasm/xor.ts`). One call copies many chunks
 * into linear memory and decodes them all, so the per-call overhead (a few hundred ns) is paid once
 * per batch instead of once per chunk, and the results are read straight from linear memory.
 */
import type { MeridianWasm } from "./module.ts";

/** Options of a decode batch. */
export interface XorDecodeOptions {
  /** Keep only samples with t >= mint (ms). */
  readonly mint?: number;
  /** Keep only samples with t <= maxt (ms); decoding of a chunk stops at the first later sample. */
  readonly maxt?: number;
}

/** Result of {@link decodeXorChunks}: views into linear memory, valid until the next WASM call. */
export interface XorDecodeResult {
  /** Total samples decoded (after the [mint, maxt] filter). */
  readonly total: number;
  /** Samples kept per chunk (owned array). */
  readonly counts: Uint32Array;
  /** Index of chunk i's first sample in `t`/`v` (owned array, length chunks + 1). */
  readonly starts: Uint32Array;
  /** Timestamps (ms) of all chunks, chunk after chunk. A view: copy before the next WASM call. */
  readonly t: Float64Array;
  /** Values, raw float64 bits as encoded (stale markers intact). A view like `t`. */
  readonly v: Float64Array;
}

/** Why a chunk could not be decoded (codes written by the WASM kernel). */
const REASONS: Record<number, string> = {
  1: "chunk shorter than its 2-byte header",
  2: "bit stream truncated (read past the end before all samples were decoded)",
  3: "sample count mismatch (bytes left over after the announced samples)",
  4: "malformed varint",
  5: "invalid XOR window (leading + significant bits > 64)",
  6: "chunk outside the input region or larger than 256 MiB",
  7: "output region too small",
};

/** The wording of a WASM decoder error code (as {@link XorChunkError} reports it). */
export function xorErrorReason(code: number): string {
  return REASONS[code] ?? `error code ${code}`;
}

/**
 * A chunk's bytes are not a valid XOR chunk. Names the chunk's index in the batch, the byte offset
 * inside the chunk (including the 2-byte header) where the failing sample starts, and that sample.
 * Callers that know the file add it (see `src/tsdb/`).
 */
export class XorChunkError extends Error {
  /** Index of the chunk in the batch. */
  readonly chunkIndex: number;
  /** Byte offset inside the chunk (2-byte header included) where the failing sample starts. */
  readonly byteOffset: number;
  /** Index of the failing sample in the chunk. */
  readonly sampleIndex: number;
  /** What is wrong, without the position. */
  readonly reason: string;

  constructor(chunkIndex: number, byteOffset: number, sampleIndex: number, reason: string) {
    super(`corrupt XOR chunk ${chunkIndex}: ${reason} at byte offset ${byteOffset} (sample ${sampleIndex})`);
    this.name = "XorChunkError";
    this.chunkIndex = chunkIndex;
    this.byteOffset = byteOffset;
    this.sampleIndex = sampleIndex;
    this.reason = reason;
  }
}

/** Number of samples a chunk announces in its 2-byte big-endian header (0 for short chunks). */
export function xorChunkSampleCount(chunk: Uint8Array): number {
  return chunk.length >= 2 ? (chunk[0]! << 8) | chunk[1]! : 0;
}

/**
 * Decodes `chunks` (XOR chunk data: header + bit stream, without the segment file's length,
 * encoding byte and CRC) in one WASM call. Throws {@link XorChunkError} on corrupt input; never
 * reads outside the bytes it was given. The returned `t`/`v` are views into linear memory that the
 * next WASM call on `wasm` (any kernel) overwrites or detaches: copy what you keep.
 */
export function decodeXorChunks(wasm: MeridianWasm, chunks: readonly Uint8Array[], opts: XorDecodeOptions = {}): XorDecodeResult {
  const n = chunks.length;
  let bytes = 0;
  let cap = 0;
  let longest = 0;
  for (let i = 0; i < n; i++) {
    const c = chunks[i]!;
    bytes += c.length;
    cap += xorChunkSampleCount(c);
    if (c.length > longest) longest = c.length;
  }
  const padding = (wasm.exports.XOR_PADDING.value as number) >>> 0;
  wasm.reset();
  const input = wasm.alloc(bytes + padding);
  const workCap = ((longest + 15) & ~15) + padding;
  const work = wasm.alloc(workCap);
  const table = wasm.alloc(n * 8);
  const counts = wasm.alloc(n * 4);
  const err = wasm.alloc(16);
  const outT = wasm.alloc(cap * 8);
  const outV = wasm.alloc(cap * 8);
  // Views only after the last alloc: a grow detaches earlier views.
  const mem = wasm.u8(input, bytes + padding);
  const tab = wasm.u32(table, n * 2);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const c = chunks[i]!;
    mem.set(c, off);
    tab[2 * i] = off;
    tab[2 * i + 1] = c.length;
    off += c.length;
  }
  mem.fill(0, bytes); // deterministic padding (over-reads are rejected, but keep them stable)
  const filter = opts.mint !== undefined || opts.maxt !== undefined;
  const total = wasm.exports.xorDecodeBatch(
    input, bytes, table, n, work, workCap, outT, outV, cap, counts,
    filter ? 1 : 0, opts.mint ?? -Infinity, opts.maxt ?? Infinity, err,
  );
  if (total < 0) {
    const e = wasm.u32(err, 4);
    throw new XorChunkError(e[1]!, e[2]!, e[3]!, REASONS[e[0]!] ?? `error code ${e[0]}`);
  }
  const countsOwned = wasm.u32(counts, n).slice();
  const starts = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) starts[i + 1] = starts[i]! + countsOwned[i]!;
  return { total, counts: countsOwned, starts, t: wasm.f64(outT, total), v: wasm.f64(outV, total) };
}

/** Samples of one series as owned arrays (the shape of `FloatSeries` without labels). */
export interface DecodedSamples {
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/**
 * Decodes the chunks of one series (in time order) into owned arrays. Samples whose timestamp is
 * not after the previous kept sample are dropped, so overlapping chunks (e.g. from two blocks)
 * still give a strictly ascending series, as Thanos does when it concatenates chunks.
 */
export function decodeXorChunksToSeries(wasm: MeridianWasm, chunks: readonly Uint8Array[], opts: XorDecodeOptions = {}): DecodedSamples {
  return decodeXorSeriesBatch(wasm, [chunks], opts)[0]!;
}

/**
 * Decodes the chunks of many series in a single WASM call and returns owned arrays per series
 * (same order as `series`). Use it where a whole Series response is decoded at once.
 */
export function decodeXorSeriesBatch(
  wasm: MeridianWasm,
  series: readonly (readonly Uint8Array[])[],
  opts: XorDecodeOptions = {},
): DecodedSamples[] {
  const flat: Uint8Array[] = [];
  for (const chunks of series) for (const c of chunks) flat.push(c);
  const r = decodeXorChunks(wasm, flat, opts);
  const out: DecodedSamples[] = [];
  let ci = 0;
  for (const chunks of series) {
    const first = r.starts[ci]!;
    const last = r.starts[ci + chunks.length]!;
    // Fast path: ascending across chunk boundaries (the normal case) → one copy per array.
    let ascending = true;
    for (let k = 1; k < chunks.length; k++) {
      const s = r.starts[ci + k]!;
      if (s > first && s < last && !(r.t[s]! > r.t[s - 1]!)) ascending = false;
    }
    if (ascending) {
      out.push({ t: r.t.slice(first, last), v: r.v.slice(first, last) });
    } else {
      out.push(mergeOverlapping(r.t, r.v, first, last));
    }
    ci += chunks.length;
  }
  return out;
}

// Drops samples that are not after the last kept one; values are copied as raw bits.
function mergeOverlapping(t: Float64Array, v: Float64Array, from: number, to: number): DecodedSamples {
  const ot = new Float64Array(to - from);
  const ov = new Float64Array(to - from);
  const vBits = new BigUint64Array(v.buffer, v.byteOffset, v.length);
  const ovBits = new BigUint64Array(ov.buffer);
  let k = 0;
  let lastT = -Infinity;
  for (let i = from; i < to; i++) {
    const ti = t[i]!;
    if (ti <= lastT) continue;
    ot[k] = ti;
    ovBits[k] = vBits[i]!;
    lastT = ti;
    k++;
  }
  return { t: ot.slice(0, k), v: ov.slice(0, k) };
}
