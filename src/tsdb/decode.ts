/**
 * Turns {@link BlockSeries} (raw chunks from `readSeries`) into decoded float series with the
 * WASM XOR decoder, applying tombstones. Histogram chunks are recognised and refused with a plain
 * message; a chunk whose bit stream is broken becomes a {@link CorruptionError} naming the
 * segment file and offset.
 */
import type { FloatSeries } from "../model/series.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { XorChunkError, decodeXorSeriesBatch } from "../wasm/xor.ts";
import type { BlockSeries } from "./block.ts";
import { segmentFileName } from "./chunk-reader.ts";
import { ChunkEncoding, CorruptionError, UnsupportedEncodingError } from "./errors.ts";
import { splitChunkRef } from "./series.ts";
import { applyTombstones } from "./tombstones.ts";

/** Where a chunk lives, for messages: `<block>/chunks/000001`, offset. */
function chunkLocation(block: string, ref: number): { file: string; offset: number } {
  const { segment, offset } = splitChunkRef(ref);
  return { file: `${block}/chunks/${segmentFileName(segment)}`, offset };
}

/**
 * Decodes every series' chunks in one WASM batch, keeping samples in [mint, maxt] (defaults: all)
 * and dropping tombstoned ones. Throws {@link UnsupportedEncodingError} for histogram chunks.
 * `block` names the block in errors.
 */
export function decodeBlockSeries(wasm: MeridianWasm, block: string, series: readonly BlockSeries[], mint = -Infinity, maxt = Infinity): FloatSeries[] {
  const batch: Uint8Array[][] = [];
  for (const s of series) {
    for (const c of s.chunks) {
      if (c.encoding !== ChunkEncoding.XOR) {
        const loc = chunkLocation(block, c.ref);
        throw new UnsupportedEncodingError(c.encoding, `${loc.file} chunk at offset ${loc.offset}`);
      }
    }
    batch.push(s.chunks.map((c) => c.data));
  }
  let decoded;
  try {
    decoded = decodeXorSeriesBatch(wasm, batch, { mint, maxt });
  } catch (err) {
    if (!(err instanceof XorChunkError)) throw err;
    // Map the batch-wide chunk index back to its series and chunk ref.
    let i = err.chunkIndex;
    for (const s of series) {
      if (i < s.chunks.length) {
        const c = s.chunks[i]!;
        const loc = chunkLocation(block, c.ref);
        throw new CorruptionError(loc.file, "chunk", loc.offset, `XOR data: ${err.reason} at data byte ${err.byteOffset} (sample ${err.sampleIndex})`, { cause: err });
      }
      i -= s.chunks.length;
    }
    throw err;
  }
  return series.map((s, k) => {
    const d = decoded[k]!;
    const { t, v } = applyTombstones(d.t, d.v, s.deleted);
    return { labels: s.labels, t, v };
  });
}
