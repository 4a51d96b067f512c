/**
 * Builds the sidecar's Series response frames as wire bytes: each series is its labels, encoded
 * here, followed by its chunk fields, which chunked-decoder.ts already wrote in their StoreAPI form
 * (one `set` per series). Series are written as they come into the frame's own buffer, sized from
 * the previous frame (grown if needed) with {@link FRAME_HEADROOM} spare bytes in front, where the
 * gRPC server can write its message prefix, so its bytes are not copied again on their way to the
 * socket. The buffers come from the server's frame pool (`allocFrameBuffer`): the native gRPC
 * server gives each back once written, so a stream reuses a few instead of allocating ~45 KB per
 * frame (which made V8 run a full GC every other 10k-series call). The frames decode their `result` lazily, only for JSON
 * clients and in-process callers.
 */
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import type { Labels } from "../model/labels.ts";
import { lazySeriesFrame, utf8Length, varintSize, writeLabelFields, writeVarint } from "../server/frame-bytes.ts";
import { allocFrameBuffer, GRPC_FRAME_HEADROOM } from "../server/raw-series.ts";
import type { EncodedChunks } from "./chunk-arena.ts";

/** Collects series into frames of `batchSize` series (a SeriesBatch), or single Series frames for 1. */
export interface SeriesFrameBuilder {
  /** Adds one series; returns a frame when one is complete. */
  add(labels: Labels, chunks: readonly EncodedChunks[]): SeriesResponse | undefined;
  /** The last, partial batch, if any. */
  flush(): SeriesResponse | undefined;
  /** Size of the buffer of the frame being filled (for the sidecar's buffering figures). */
  readonly bufferBytes: number;
}

/** Spare bytes left in front of each frame's bytes, where the gRPC server frames it in place. */
export const FRAME_HEADROOM = GRPC_FRAME_HEADROOM;

/** Creates a frame builder; `batchSize` ≤ 1 means one series per frame (no SeriesBatch). */
export function createSeriesFrameBuilder(batchSize: number): SeriesFrameBuilder {
  const batch = batchSize > 1;
  // Size of the next frame's buffer: the last frame's, with some slack.
  let expect = batch ? 16 * 1024 : 1024;
  // The frame being filled: a buffer from the server's pool (headroom in front, not zeroed; the
  // native gRPC server hands it back once written, so steady streaming allocates none).
  let scratch: Uint8Array | undefined;
  let o = 0;
  let count = 0;

  function frame(): SeriesResponse {
    const bytes = scratch!.subarray(0, o);
    expect = Math.max(1024, o + (o >> 3));
    scratch = undefined;
    o = 0;
    count = 0;
    return lazySeriesFrame(batch ? "batch" : "series", bytes, { headroom: true });
  }

  return {
    get bufferBytes() {
      return scratch ? scratch.length : 0;
    },
    add(labels, chunks) {
      // thanos.Series: field 1 labels (name = 1, value = 2), field 2 chunks (already encoded).
      // Labels exactly as the decoder saw them in canonical form are copied, not encoded again.
      const first = chunks.length > 0 ? chunks[0]! : undefined;
      const labelBytes = first !== undefined && first.labelsOf === labels ? first.labelSize! : -1;
      let size = labelBytes >= 0 ? labelBytes : 0;
      for (let i = 0; labelBytes < 0 && i < labels.length; i++) {
        const l = labels[i]!;
        const nl = utf8Length(l.name);
        const vl = utf8Length(l.value);
        const ls = (nl > 0 ? 1 + varintSize(nl) + nl : 0) + (vl > 0 ? 1 + varintSize(vl) + vl : 0);
        size += 1 + varintSize(ls) + ls;
      }
      for (let i = 0; i < chunks.length; i++) size += chunks[i]!.size;
      const need = (batch ? 1 + varintSize(size) : 0) + size;
      if (!scratch) scratch = allocFrameBuffer(Math.max(expect, need));
      else if (o + need > scratch.length) {
        const grown = allocFrameBuffer(Math.max(2 * scratch.length, o + need));
        grown.set(scratch.subarray(0, o));
        scratch = grown;
      }
      const buf = scratch;
      if (batch) {
        buf[o++] = 0x0a;
        o = writeVarint(buf, o, size);
      }
      if (labelBytes >= 0) {
        buf.set(first!.buf.subarray(first!.start - labelBytes, first!.start), o);
        o += labelBytes;
      }
      for (let i = 0; labelBytes < 0 && i < labels.length; i++) {
        const l = labels[i]!;
        // Sizes again rather than kept in an array: ASCII strings make this a short loop.
        const nl = utf8Length(l.name);
        const vl = utf8Length(l.value);
        buf[o++] = 0x0a;
        o = writeVarint(buf, o, (nl > 0 ? 1 + varintSize(nl) + nl : 0) + (vl > 0 ? 1 + varintSize(vl) + vl : 0));
        o = writeLabelFields(buf, o, l.name, nl, l.value, vl);
      }
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]!;
        buf.set(c.buf.subarray(c.start, c.start + c.size), o);
        o += c.size;
      }
      return ++count >= batchSize ? frame() : undefined;
    },
    flush() {
      return count > 0 ? frame() : undefined;
    },
  };
}
