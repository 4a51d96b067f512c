/**
 * Reads raw chunks from a block's segment files (`chunks/000001`, ...) by chunk ref
 * (segment index << 32 | offset). Returns encoding + data bytes with the CRC32C checked; decoding
 * samples is the WASM decoder's job (`src/wasm/xor.ts`).
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { crc32cRange } from "./crc32c.ts";
import { Decoder, readBe32, verifyCrc } from "./decoder.ts";
import { CorruptionError, readOrCorrupt } from "./errors.ts";
import { DEFAULT_MAX_GAP, DEFAULT_MAX_MERGED } from "./ranges.ts";

/**
 * A segment reader that may also read into memory the caller owns (the bucket reader over a bucket
 * with `getRangeInto`): exactly `target.length` bytes at `offset`, the same errors as `read`.
 */
export interface SegmentReader extends ByteRangeReader {
  readInto?(offset: number, target: Uint8Array): Promise<void>;
}

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

/**
 * Chunk records of one read, as a structure of arrays (no object or view per chunk): record i lies
 * in `buffers[buffer[i]]`, its encoding byte at `encAt[i]`, its data in `[encAt[i] + 1, crcAt[i])`
 * and the big-endian CRC32C of `[encAt[i], crcAt[i])` in the 4 bytes at `crcAt[i]`.
 */
export interface ChunkRecords {
  readonly count: number;
  /** The range reads the records were parsed from. */
  readonly buffers: readonly Uint8Array[];
  readonly buffer: Uint32Array;
  readonly encAt: Uint32Array;
  readonly crcAt: Uint32Array;
  /**
   * The corruption error for record `i` whose CRC32C does not match (names the segment file and
   * the record's absolute offset), for callers that check CRCs themselves.
   */
  corrupt(i: number): CorruptionError;
}

/** Raw chunk access for one block. */
export interface ChunkReader {
  /** One chunk. */
  chunk(ref: number): Promise<RawChunk>;
  /** Many chunks with merged range reads per segment; result in the order of `refs`. */
  chunks(refs: ArrayLike<number>): Promise<RawChunk[]>;
  /**
   * Many chunk records (merged range reads per segment), in the order of `refs`, without an object
   * per chunk. With `verify: false` the CRC32Cs are NOT checked: the caller must check every
   * record (e.g. in one WASM call) and report mismatches with {@link ChunkRecords.corrupt}.
   */
  records(refs: ArrayLike<number>, opts?: ChunkRecordsOptions): Promise<ChunkRecords>;
}

/** Options for {@link ChunkReader.records}. */
export interface ChunkRecordsOptions {
  /** Check every record's CRC32C (default true); see {@link ChunkReader.records}. */
  verify?: boolean;
  /**
   * Memory for the merged range reads: `alloc(n)` returns an `n`-byte array the caller owns (e.g.
   * from a pool it refills once it is done with the records), read into with the segment reader's
   * `readInto`. Ignored for readers without `readInto`; re-reads of chunks longer than the
   * estimate are always fresh reads. The returned records' buffers are these arrays (or views).
   */
  alloc?: (n: number) => Uint8Array;
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
export function openChunkReader(segments: (seq: number) => SegmentReader | Promise<SegmentReader>, opts: ChunkReaderOptions = {}): ChunkReader {
  const maxGap = opts.maxGap ?? DEFAULT_MAX_GAP;
  const estimate = opts.chunkSizeEstimate ?? 1024;
  const opened = new Map<number, Promise<{ reader: SegmentReader; size: number }>>();

  function checkOffset(offset: number, ref: number, file: string, size: number): number {
    if (offset < SEGMENT_HEADER_LEN || offset >= size) {
      throw new CorruptionError(file, "chunk", offset, `chunk ref ${ref} points outside the segment (${size} bytes)`);
    }
    return offset;
  }

  function segment(seq: number): Promise<{ reader: SegmentReader; size: number }> {
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

  async function records(refs: ArrayLike<number>, ropts: ChunkRecordsOptions = {}): Promise<ChunkRecords> {
    const n = refs.length;
    const verify = ropts.verify ?? true;
    const alloc = ropts.alloc;
    const buffer = new Uint32Array(n);
    const encAt = new Uint32Array(n);
    const crcAt = new Uint32Array(n);
    const buffers: Uint8Array[] = [];
    const files: string[] = [];
    const bases: number[] = [];
    // Reads in (segment, offset) order, i.e. ref order; refs usually come sorted already.
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) if (refs[i]! < refs[i - 1]!) sorted = false;
    let order: Uint32Array | undefined;
    if (!sorted) order = new Uint32Array(n).map((_, i) => i).sort((x, y) => refs[x]! - refs[y]!);
    // Merged reads: [from, to) of the sorted order each, per segment.
    const reads: Promise<void>[] = [];
    for (let from = 0; from < n; ) {
      const seq = Math.floor(refs[order ? order[from]! : from]! / 4294967296);
      let to = from + 1;
      while (to < n && Math.floor(refs[order ? order[to]! : to]! / 4294967296) === seq) to++;
      reads.push(readSegment(seq, refs, order, from, to));
      from = to;
    }
    async function readSegment(seq: number, refs: ArrayLike<number>, order: Uint32Array | undefined, from: number, to: number): Promise<void> {
      const { reader, size } = await segment(seq);
      const file = reader.name;
      const base = seq * 4294967296;
      // Plan every merged read first (offsets checked), then start them: nothing is left running on an error.
      const plan: number[] = [];
      for (let k = from; k < to; ) {
        // One merged read: ranges [offset, offset + estimate) closer than maxGap, at most DEFAULT_MAX_MERGED.
        const first = order ? order[k]! : k;
        const start = checkOffset(refs[first]! - base, refs[first]!, file, size);
        let end = Math.min(start + estimate, size);
        let g = k + 1;
        for (; g < to; g++) {
          const ref = refs[order ? order[g]! : g]!;
          const off = checkOffset(ref - base, ref, file, size);
          const e = Math.max(end, Math.min(off + estimate, size));
          if (off > end + maxGap || e - start > DEFAULT_MAX_MERGED) break;
          end = e;
        }
        plan.push(start, end, k, g);
        k = g;
      }
      let rereads: Promise<void>[] | undefined;
      const groups: Promise<void>[] = [];
      for (let p = 0; p < plan.length; p += 4) {
        const start = plan[p]!;
        const end = plan[p + 1]!;
        const gFrom = plan[p + 2]!;
        const gTo = plan[p + 3]!;
        groups.push((async () => {
          const bytes = await readOrCorrupt(file, "chunk", start, async () => {
            if (!alloc || !reader.readInto) return reader.read(start, end - start);
            const into = alloc(end - start);
            await reader.readInto(start, into);
            return into;
          });
          const bi = buffers.push(bytes) - 1;
          files[bi] = file;
          bases[bi] = start;
          for (let j = gFrom; j < gTo; j++) {
            const i = order ? order[j]! : j;
            const ref = refs[i]!;
            const need = parseRecordInto(bytes, ref - base - start, file, start, ref, i, bi);
            if (need > 0) (rereads ??= []).push(reread(reader, size, ref, ref - base, i, need));
          }
        })());
      }
      try {
        await Promise.all(groups);
      } finally {
        // Re-reads already started must not end as unhandled rejections.
        for (const p of rereads ?? []) p.catch(() => undefined);
      }
      if (rereads) await Promise.all(rereads);
    }

    /**
     * Parses the record of chunk `i` at `pos` of `bytes` into the arrays; returns 0, or the record
     * length needed from `pos` when `bytes` ends too early.
     */
    function parseRecordInto(bytes: Uint8Array, pos: number, file: string, base: number, ref: number, i: number, bi: number): number {
      let len = 0;
      let v = 0;
      // Chunks are almost always under 16 KiB: their 1- or 2-byte length varint is read without the loop.
      if (pos + 1 < bytes.length && bytes[pos]! < 0x80) len = bytes[pos]!;
      else if (pos + 2 < bytes.length && bytes[pos + 1]! < 0x80) {
        len = (bytes[pos]! & 0x7f) | (bytes[pos + 1]! << 7);
        v = 1;
      } else {
        for (let shift = 0; ; shift += 7, v++) {
          if (v >= 5) throw new Decoder(bytes, file, "chunk", base).corrupt(`chunk ${ref}: length varint longer than 5 bytes`, pos);
          if (pos + v >= bytes.length) return 5 + 1 + 4;
          const c = bytes[pos + v]!;
          len += (c & 0x7f) * 2 ** shift;
          if (c < 0x80) break;
        }
      }
      const e = pos + v + 1;
      const c = e + 1 + len;
      if (c + 4 > bytes.length) return c + 4 - pos;
      buffer[i] = bi;
      encAt[i] = e;
      crcAt[i] = c;
      if (verify && crc32cRange(bytes, e, c) !== readBe32(bytes, c)) verifyCrc(new Decoder(bytes, file, "chunk", base), e, c, c);
      return 0;
    }

    /**
     * A chunk longer than the estimate: re-read with the length learnt (twice at most: the first
     * re-read may only complete the length varint).
     */
    async function reread(reader: ByteRangeReader, size: number, ref: number, offset: number, i: number, need: number): Promise<void> {
      const file = reader.name;
      for (let attempt = 0; need > 0; attempt++) {
        if (offset + need > size) {
          throw new CorruptionError(file, "chunk", offset, `chunk ref ${ref}: record of ${need} bytes runs past the end of the segment (${size} bytes)`);
        }
        if (attempt === 2) throw new CorruptionError(file, "chunk", offset, `chunk ref ${ref}: record length inconsistent`);
        const bytes = await readOrCorrupt(file, "chunk", offset, () => reader.read(offset, need));
        const bi = buffers.push(bytes) - 1;
        files[bi] = file;
        bases[bi] = offset;
        need = parseRecordInto(bytes, 0, file, offset, ref, i, bi);
      }
    }

    await Promise.all(reads);
    return {
      count: n,
      buffers,
      buffer,
      encAt,
      crcAt,
      corrupt(i) {
        const b = buffer[i]!;
        const d = new Decoder(buffers[b]!, files[b]!, "chunk", bases[b]!);
        try {
          verifyCrc(d, encAt[i]!, crcAt[i]!, crcAt[i]!);
        } catch (err) {
          if (err instanceof CorruptionError) return err;
          throw err;
        }
        return d.corrupt("CRC32C mismatch", encAt[i]!);
      },
    };
  }

  async function chunks(refs: ArrayLike<number>): Promise<RawChunk[]> {
    const r = await records(refs);
    const out: RawChunk[] = new Array(r.count);
    for (let i = 0; i < r.count; i++) {
      const bytes = r.buffers[r.buffer[i]!]!;
      const e = r.encAt[i]!;
      out[i] = { ref: refs[i]!, encoding: bytes[e]!, data: bytes.subarray(e + 1, r.crcAt[i]!) };
    }
    return out;
  }

  return {
    async chunk(ref) {
      return (await chunks([ref]))[0]!;
    },
    chunks,
    records,
  };
}
