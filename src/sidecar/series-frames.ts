/**
 * Builds the sidecar's Series response frames as wire bytes: each series is its labels, encoded
 * here, followed by its chunk fields, written from Prometheus' frames by chunked-decoder.ts, so a
 * frame is one exact-size allocation and the chunk bytes are copied once. The
 * frames carry their bytes for the raw gRPC path (sent as they are) and decode their `result`
 * lazily, only for JSON clients and in-process callers.
 */
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import type { Labels } from "../model/labels.ts";
import { lazySeriesFrame, utf8Length, varintSize, writeString, writeVarint } from "../server/frame-bytes.ts";
import { writeEncodedChunks, type EncodedChunks } from "./chunked-decoder.ts";

/** Collects series into frames of `batchSize` series (a SeriesBatch), or single Series frames for 1. */
export interface SeriesFrameBuilder {
  /** Adds one series; returns a frame when one is complete. */
  add(labels: Labels, chunks: readonly EncodedChunks[]): SeriesResponse | undefined;
  /** The last, partial batch, if any. */
  flush(): SeriesResponse | undefined;
}

interface PendingSeries {
  readonly labels: Labels;
  readonly chunks: readonly EncodedChunks[];
  /** Byte lengths: per label name, value, label content; then the series content size. */
  readonly sizes: number[];
}

/** Creates a frame builder; `batchSize` ≤ 1 means one series per frame (no SeriesBatch). */
export function createSeriesFrameBuilder(batchSize: number): SeriesFrameBuilder {
  let pending: PendingSeries[] = [];
  let pendingBytes = 0;

  function frame(): SeriesResponse {
    const batch = batchSize > 1;
    const buf = new Uint8Array(pendingBytes);
    let o = 0;
    for (const s of pending) {
      const size = s.sizes[s.sizes.length - 1]!;
      if (batch) {
        buf[o++] = 0x0a;
        o = writeVarint(buf, o, size);
      }
      o = writeSeries(buf, o, s);
    }
    pending = [];
    pendingBytes = 0;
    return lazySeriesFrame(batch ? "batch" : "series", buf);
  }

  return {
    add(labels, chunks) {
      const sizes: number[] = [];
      let size = 0;
      for (const l of labels) {
        const nl = utf8Length(l.name);
        const vl = utf8Length(l.value);
        const ls = (nl > 0 ? 1 + varintSize(nl) + nl : 0) + (vl > 0 ? 1 + varintSize(vl) + vl : 0);
        sizes.push(nl, vl, ls);
        size += 1 + varintSize(ls) + ls;
      }
      for (const c of chunks) size += c.size;
      sizes.push(size);
      pending.push({ labels, chunks, sizes });
      pendingBytes += batchSize > 1 ? 1 + varintSize(size) + size : size;
      return pending.length >= batchSize ? frame() : undefined;
    },
    flush() {
      return pending.length > 0 ? frame() : undefined;
    },
  };
}

/** A SeriesResponse whose bytes are attached for the raw path and whose `result` is decoded on first use. */
// thanos.Series: field 1 labels (name = 1, value = 2), field 2 chunks (already encoded).
function writeSeries(buf: Uint8Array, o: number, s: PendingSeries): number {
  let k = 0;
  for (const l of s.labels) {
    const nl = s.sizes[k++]!;
    const vl = s.sizes[k++]!;
    buf[o++] = 0x0a;
    o = writeVarint(buf, o, s.sizes[k++]!);
    if (nl > 0) {
      buf[o++] = 0x0a;
      o = writeVarint(buf, o, nl);
      o = writeString(buf, o, l.name, nl);
    }
    if (vl > 0) {
      buf[o++] = 0x12;
      o = writeVarint(buf, o, vl);
      o = writeString(buf, o, l.value, vl);
    }
  }
  for (const c of s.chunks) o = writeEncodedChunks(buf, o, c);
  return o;
}

