/**
 * Series entries of the index (v2): label pairs as symbol ordinals and delta-encoded chunk
 * metadata. Split in two steps (decode refs, then resolve symbols) so a store can decode many
 * entries and resolve all their symbols in one batch.
 */
import { Decoder, verifyCrc } from "./decoder.ts";

/** A chunk as the index describes it. `ref` = segment index << 32 | offset (a Number, exact below 2^53). */
export interface ChunkMeta {
  readonly ref: number;
  /** First and last sample timestamps (ms), inclusive. */
  readonly mint: number;
  readonly maxt: number;
}

/** A decoded series entry before symbol resolution. */
export interface SeriesEntryRefs {
  /** Series ref (entry offset / 16). */
  readonly ref: number;
  /** Symbol ordinals: name0, value0, name1, value1, ... */
  readonly labelRefs: Uint32Array;
  readonly chunks: ChunkMeta[];
}

/** Splits a chunk ref into segment index (0-based) and byte offset. */
export function splitChunkRef(ref: number): { segment: number; offset: number } {
  const segment = Math.floor(ref / 4294967296);
  return { segment, offset: ref - segment * 4294967296 };
}

/** Builds a chunk ref from segment index (0-based) and offset. */
export function chunkRef(segment: number, offset: number): number {
  return segment * 4294967296 + offset;
}

/**
 * Total byte length (uvarint len + body + CRC) of the series entry starting at `pos` of `bytes`,
 * or undefined when `bytes` ends before the length varint does.
 */
export function seriesEntryLength(bytes: Uint8Array, pos: number): number | undefined {
  let len = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (pos + i >= bytes.length) return undefined;
    const c = bytes[pos + i]!;
    len += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return i + 1 + len + 4;
    shift += 7;
  }
  return Number.POSITIVE_INFINITY; // over-long varint: let the decoder report it
}

/**
 * Decodes the series entry for `ref` at `pos` of `bytes` (read from `file` at absolute `base`),
 * checking its CRC and that the body is fully consumed.
 */
export function decodeSeriesEntry(bytes: Uint8Array, pos: number, file: string, base: number, ref: number): SeriesEntryRefs {
  const d = new Decoder(bytes, file, "series", base);
  d.pos = pos;
  const lenAt = d.pos;
  const len = d.uvarint32();
  const bodyStart = d.pos;
  const bodyEnd = bodyStart + len;
  if (bodyEnd + 4 > bytes.length) throw d.corrupt(`series ${ref}: entry of ${len} bytes runs past the data (${bytes.length - bodyStart} available)`, lenAt);
  verifyCrc(d, bodyStart, bodyEnd, bodyEnd);
  const body = new Decoder(bytes.subarray(0, bodyEnd), file, "series", base);
  body.pos = bodyStart;
  const nLabels = body.uvarint32();
  if (nLabels * 2 > len) throw body.corrupt(`series ${ref}: ${nLabels} labels cannot fit in ${len} bytes`, bodyStart);
  const labelRefs = new Uint32Array(nLabels * 2);
  for (let i = 0; i < nLabels * 2; i++) labelRefs[i] = body.uvarint32();
  const nChunks = body.uvarint32();
  if (nChunks * 3 > len) throw body.corrupt(`series ${ref}: ${nChunks} chunks cannot fit in ${len} bytes`, bodyStart);
  const chunks: ChunkMeta[] = new Array(nChunks);
  if (nChunks > 0) {
    let mint = body.varint();
    let maxt = mint + body.uvarint();
    let cref = body.uvarint();
    chunks[0] = { ref: cref, mint, maxt };
    for (let i = 1; i < nChunks; i++) {
      // Deltas: mint from the previous maxt (unsigned), maxt from mint, ref from the previous ref
      // (signed). Order is not enforced here: Prometheus' reader does not either, and the CRC
      // already guards against corruption.
      mint = maxt + body.uvarint();
      maxt = mint + body.uvarint();
      cref = cref + body.varint();
      chunks[i] = { ref: cref, mint, maxt };
    }
  }
  if (body.pos !== bodyEnd) throw body.corrupt(`series ${ref}: ${bodyEnd - body.pos} unexpected bytes at end of entry`);
  return { ref, labelRefs, chunks };
}
