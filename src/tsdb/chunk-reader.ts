/**
 * Reads raw chunks from a block's segment files (`chunks/000001`, ...) by chunk ref
 * (segment index << 32 | offset). Returns encoding + data bytes with the CRC32C checked; decoding
 * samples is the WASM decoder's job (`src/wasm/xor.ts`).
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { crc32cRange } from "./crc32c.ts";
import { Decoder, readBe32, verifyCrc } from "./decoder.ts";
import { CorruptionError, readOrCorrupt } from "./errors.ts";
import { DEFAULT_MAX_GAP, type ByteRange, mergeRanges } from "./ranges.ts";
import { splitChunkRef } from "./series.ts";

/** Segment file magic. */
export const CHUNKS_MAGIC = 0x85bd40dd;
/** Segment header: magic 4B, version 1B, padding 3B. */
export const SEGMENT_HEADER_LEN = 8;

/** One chunk as stored: encoding byte (1 = XOR) and its data (a view, not a copy). */
export interface RawChunk {
  readonly ref: number;
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** Tuning for chunk reads. */
export interface ChunkReaderOptions {
  /** Merge reads whose gap is at most this many bytes (default 512 KiB). */
  maxGap?: number;
  /** Bytes read per chunk before its length is known (default 1024; longer chunks are re-read). */
  chunkSizeEstimate?: number;
  /**
   * Expected byte size of segment `seq` when known (Thanos meta.json `files`); a shorter or longer
   * file is reported as corrupt before any chunk is read from it.
   */
  expectedSegmentSize?: (seq: number) => number | undefined;
}

/** Raw chunk access for one block. */
export interface ChunkReader {
  /** One chunk. */
  chunk(ref: number): Promise<RawChunk>;
  /** Many chunks with merged range reads per segment; result in the order of `refs`. */
  chunks(refs: ArrayLike<number>): Promise<RawChunk[]>;
}

/** Segment file name for a 0-based segment index (`000001` for 0). */
export function segmentFileName(seq: number): string {
  return String(seq + 1).padStart(6, "0");
}

/**
 * Parses the chunk record at `pos` of `bytes` (read from `file` at absolute `base`). Returns the
 * chunk, or the total record length needed when `bytes` is too short.
 */
export function parseChunkRecord(bytes: Uint8Array, pos: number, file: string, base: number, ref: number): RawChunk | { need: number } {
  // Length varint: at most 5 bytes.
  let len = 0;
  let i = 0;
  for (let shift = 0; ; shift += 7, i++) {
    if (i >= 5) throw new Decoder(bytes, file, "chunk", base).corrupt(`chunk ${ref}: length varint longer than 5 bytes`, pos);
    if (pos + i >= bytes.length) return { need: 5 + 1 + 4 }; // record length from pos: varint, encoding, CRC
    const c = bytes[pos + i]!;
    len += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) break;
  }
  const encAt = pos + i + 1;
  const end = encAt + 1 + len + 4;
  if (end > bytes.length) return { need: end - pos };
  // Runs once per chunk served: check the CRC inline and build the Decoder only for the error.
  const crcAt = encAt + 1 + len;
  if (crc32cRange(bytes, encAt, crcAt) !== readBe32(bytes, crcAt)) verifyCrc(new Decoder(bytes, file, "chunk", base), encAt, crcAt, crcAt);
  return { ref, encoding: bytes[encAt]!, data: bytes.subarray(encAt + 1, crcAt) };
}

/**
 * Opens the chunk segments of a block; `segments(seq)` gives a reader for segment index `seq`
 * (0-based; file `chunks/` + {@link segmentFileName}). Segment headers are checked on first use.
 */
export function openChunkReader(segments: (seq: number) => ByteRangeReader | Promise<ByteRangeReader>, opts: ChunkReaderOptions = {}): ChunkReader {
  const maxGap = opts.maxGap ?? DEFAULT_MAX_GAP;
  const estimate = opts.chunkSizeEstimate ?? 1024;
  const opened = new Map<number, Promise<{ reader: ByteRangeReader; size: number }>>();

  function segment(seq: number): Promise<{ reader: ByteRangeReader; size: number }> {
    let p = opened.get(seq);
    if (!p) {
      p = (async () => {
        const reader = await segments(seq);
        const size = await reader.size();
        const file = reader.name;
        const want = opts.expectedSegmentSize?.(seq);
        if (want !== undefined && want !== size) {
          throw new CorruptionError(file, "segment", Math.min(size, want), `file has ${size} bytes, meta.json says ${want}${size < want ? " (truncated)" : ""}`);
        }
        if (size < SEGMENT_HEADER_LEN) throw new CorruptionError(file, "segment header", 0, `file too small (${size} bytes)`);
        const head = await readOrCorrupt(file, "segment header", 0, () => reader.read(0, SEGMENT_HEADER_LEN));
        const d = new Decoder(head, file, "segment header", 0);
        const magic = d.be32();
        if (magic !== CHUNKS_MAGIC) throw d.corrupt(`invalid magic number 0x${magic.toString(16)} (want 0x${CHUNKS_MAGIC.toString(16)})`, 0);
        const version = d.u8();
        if (version !== 1) throw d.corrupt(`unsupported chunks format version ${version}`, 4);
        return { reader, size };
      })();
      p.catch(() => opened.delete(seq));
      opened.set(seq, p);
    }
    return p;
  }

  async function readSegment(seq: number, items: { ref: number; offset: number; index: number }[], out: RawChunk[]): Promise<void> {
    const { reader, size } = await segment(seq);
    const file = reader.name;
    const ranges: ByteRange[] = items.map((it) => {
      if (it.offset < SEGMENT_HEADER_LEN || it.offset >= size) {
        throw new CorruptionError(file, "chunk", it.offset, `chunk ref ${it.ref} points outside the segment (${size} bytes)`);
      }
      return { offset: it.offset, length: Math.min(estimate, size - it.offset) };
    });
    // Parse every record straight out of its merged read (no view per chunk). A record longer than
    // its estimate is still complete when the merged read goes on past it; only records running
    // past the end of their merged read need a re-read.
    const merged = mergeRanges(ranges, maxGap);
    const reads = await Promise.all(merged.map((m) => readOrCorrupt(file, "chunk", m.offset, () => reader.read(m.offset, m.length))));
    let rereads: Promise<void>[] | undefined;
    try {
      for (let g = 0; g < merged.length; g++) {
        const m = merged[g]!;
        const bytes = reads[g]!;
        for (const k of m.members) {
          const it = items[k]!;
          const r = parseChunkRecord(bytes, it.offset - m.offset, file, m.offset, it.ref);
          if ("need" in r) (rereads ??= []).push(reread(reader, size, it, r.need, out));
          else out[it.index] = r;
        }
      }
    } catch (err) {
      // Re-reads already started must not end as unhandled rejections.
      for (const p of rereads ?? []) p.catch(() => undefined);
      throw err;
    }
    if (rereads) await Promise.all(rereads);
  }

  /**
   * A chunk longer than the estimate: re-read with the length learnt (twice at most: the first
   * re-read may only complete the length varint).
   */
  async function reread(reader: ByteRangeReader, size: number, it: { ref: number; offset: number; index: number }, need: number, out: RawChunk[]): Promise<void> {
    const file = reader.name;
    let r: RawChunk | { need: number } = { need };
    for (let attempt = 0; "need" in r; attempt++) {
      const len = r.need;
      if (it.offset + len > size) {
        throw new CorruptionError(file, "chunk", it.offset, `chunk ref ${it.ref}: record of ${len} bytes runs past the end of the segment (${size} bytes)`);
      }
      if (attempt === 2) throw new CorruptionError(file, "chunk", it.offset, `chunk ref ${it.ref}: record length inconsistent`);
      const bytes = await readOrCorrupt(file, "chunk", it.offset, () => reader.read(it.offset, len));
      r = parseChunkRecord(bytes, 0, file, it.offset, it.ref);
    }
    out[it.index] = r;
  }

  async function chunks(refs: ArrayLike<number>): Promise<RawChunk[]> {
    const out: RawChunk[] = new Array(refs.length);
    const bySeg = new Map<number, { ref: number; offset: number; index: number }[]>();
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const { segment: seq, offset } = splitChunkRef(ref);
      let list = bySeg.get(seq);
      if (!list) bySeg.set(seq, (list = []));
      list.push({ ref, offset, index: i });
    }
    await Promise.all([...bySeg].map(([seq, items]) => readSegment(seq, items, out)));
    return out;
  }

  return {
    async chunk(ref) {
      return (await chunks([ref]))[0]!;
    },
    chunks,
  };
}
