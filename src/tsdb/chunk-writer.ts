/**
 * Writes chunk segment files (`chunks/000001`, ...) of a TSDB block the way Prometheus'
 * `chunks.Writer` does: 8-byte segment header, then `uvarint(len) | encoding | data | CRC32C`
 * records, a new segment whenever the next series' chunks would push the current one past the
 * segment size (512 MiB by default). Chunk references are `segmentIndex << 32 | offset`.
 */
import { crc32c } from "./crc32c.ts";
import { createEncBuf, type EncBuf } from "./encoding-writer.ts";

/** Magic number at the start of every chunk segment file. */
export const CHUNKS_MAGIC = 0x85bd40dd;
/** Prometheus' default maximum segment size (`DefaultChunkSegmentSize`). */
export const DEFAULT_SEGMENT_SIZE = 512 * 1024 * 1024;
const SEGMENT_HEADER_SIZE = 8;
const MAX_CHUNK_LENGTH_FIELD = 5;
const TWO_POW_32 = 2 ** 32;

/** A chunk to store: encoding byte and its data bytes. */
export interface ChunkToWrite {
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** Sequential chunk segment writer. */
export interface ChunkWriter {
  /**
   * Writes the chunks of one series (kept together in one segment unless they alone exceed the
   * segment size) and returns their references (`segmentIndex * 2^32 + offset`, exact as a number
   * while there are fewer than 2^21 segments).
   */
  writeChunks(chunks: readonly ChunkToWrite[]): number[];
  /** Bytes of the largest chunk record written (Thanos `index_stats.chunk_max_size`). */
  readonly maxChunkSize: number;
  /** The segment files by relative path (`chunks/000001`, ...). */
  files(): Map<string, Uint8Array>;
}

/** Creates a chunk segment writer. `segmentSize` mirrors `--storage.tsdb.max-block-chunk-segment-size`. */
export function createChunkWriter(opts: { segmentSize?: number } = {}): ChunkWriter {
  const segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const segments: EncBuf[] = [];
  let cur: EncBuf | undefined;
  let maxChunkSize = 0;

  function cut(): void {
    cur = createEncBuf(Math.min(segmentSize, 1 << 20));
    cur.putBE32(CHUNKS_MAGIC);
    cur.putByte(1); // chunks format v1
    cur.putBytes(new Uint8Array(3));
    segments.push(cur);
  }

  function writeBatch(batch: readonly ChunkToWrite[], refs: number[]): void {
    const seg = cur!;
    const seq = segments.length - 1;
    for (const c of batch) {
      if (seg.length >= TWO_POW_32) throw new RangeError(`chunk writer: segment ${seq + 1} exceeds 4 GiB`);
      refs.push(seq * TWO_POW_32 + seg.length);
      const start = seg.length;
      seg.putUvarint(c.data.length);
      const crcFrom = seg.length;
      seg.putByte(c.encoding);
      seg.putBytes(c.data);
      seg.putBE32(crc32c(seg.view(crcFrom)));
      maxChunkSize = Math.max(maxChunkSize, seg.length - start);
    }
  }

  return {
    writeChunks(chunks) {
      // Same batching as Go's WriteChunks: size estimates use the maximum length-field size.
      const batches: ChunkToWrite[][] = [[]];
      let batchSize = 0;
      let firstBatch = true;
      const n = cur?.length ?? 0;
      chunks.forEach((c, i) => {
        const size = MAX_CHUNK_LENGTH_FIELD + 1 + c.data.length + 4;
        batchSize += size;
        let cutNew = i !== 0 && batchSize + SEGMENT_HEADER_SIZE > segmentSize;
        if (firstBatch && n > SEGMENT_HEADER_SIZE) {
          cutNew = batchSize + n > segmentSize;
          if (cutNew) firstBatch = false;
        }
        if (cutNew) {
          batches.push([]);
          batchSize = size;
        }
        batches[batches.length - 1]!.push(c);
      });
      if (cur === undefined) cut();
      const refs: number[] = [];
      batches.forEach((b, i) => {
        // An empty first batch happens when the very first chunk does not fit the current segment.
        writeBatch(b, refs);
        if (i < batches.length - 1) cut();
      });
      return refs;
    },
    get maxChunkSize() {
      return maxChunkSize;
    },
    files() {
      const out = new Map<string, Uint8Array>();
      segments.forEach((s, i) => out.set(`chunks/${String(i + 1).padStart(6, "0")}`, s.finish()));
      return out;
    },
  };
}
