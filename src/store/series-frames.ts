/**
 * Builds the store gateway's Series / SeriesBatch response frames directly as wire bytes from the
 * merged {@link StoreSeries}: labels are encoded straight from the label strings and each chunk's
 * bytes are copied once, into the frame, with no per-chunk AggrChunk/Chunk objects or min/max
 * BigInts. The bytes are exactly what protobuf-es would encode for the same `thanos.Series`
 * (checked in series-frames.test.ts). Frames carry their bytes for the raw gRPC path
 * (withRawSeriesBytes) and decode `result` lazily, only for JSON clients and in-process callers.
 */
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { lazySeriesFrame, utf8Length, varintSize, writeLabelFields, writeVarint } from "../server/frame-bytes.ts";
import { allocFrameBuffer } from "../server/raw-series.ts";
import type { StoreSeries } from "./chunk-table.ts";

/** Collects series into frames of `batchSize` series (a SeriesBatch), or single Series frames for ≤ 1. */
export interface StoreFrameBuilder {
  /** Adds one series; returns a frame when one is complete. */
  add(s: StoreSeries): SeriesResponse | undefined;
  /** The last, partial batch, if any. */
  flush(): SeriesResponse | undefined;
}

/** Creates a frame builder; `batchSize` ≤ 1 means one `series` frame per series. */
export function createStoreFrameBuilder(batchSize: number): StoreFrameBuilder {
  const batch = batchSize > 1;
  let pending: StoreSeries[] = [];
  // Sizes in write order for all pending series: per label (name, value, label content); per chunk
  // (AggrChunk content, Chunk content). Series content sizes are kept apart.
  let scratch: number[] = [];
  let seriesSizes: number[] = [];
  let frameBytes = 0;

  function frame(): SeriesResponse {
    // Spare bytes in front for the gRPC message prefix (the native gRPC server frames it in place),
    // from the pool of buffers the server gave back after sending them.
    const buf = allocFrameBuffer(frameBytes);
    let o = 0;
    let k = 0;
    for (let i = 0; i < pending.length; i++) {
      const s = pending[i]!;
      if (batch) {
        buf[o++] = 0x0a;
        o = writeVarint(buf, o, seriesSizes[i]!);
      }
      for (const l of s.labels) {
        const nl = scratch[k++]!;
        const vl = scratch[k++]!;
        buf[o++] = 0x0a;
        o = writeVarint(buf, o, scratch[k++]!);
        o = writeLabelFields(buf, o, l.name, nl, l.value, vl);
      }
      for (const r of s.runs) {
        const t = r.table;
        for (let c = r.from; c < r.to; c++) {
          buf[o++] = 0x12; // Series.chunks
          o = writeVarint(buf, o, scratch[k++]!);
          const mint = t.mint[c]!;
          const maxt = t.maxt[c]!;
          if (mint !== 0) {
            buf[o++] = 0x08;
            o = writeInt64(buf, o, mint);
          }
          if (maxt !== 0) {
            buf[o++] = 0x10;
            o = writeInt64(buf, o, maxt);
          }
          buf[o++] = 0x1a; // AggrChunk.raw (always set, possibly empty)
          o = writeVarint(buf, o, scratch[k++]!);
          const type = t.encoding[c]! - 1;
          if (type !== 0) {
            buf[o++] = 0x08;
            o = writeVarint(buf, o, type);
          }
          const from = t.start[c]!;
          const n = t.end[c]! - from;
          if (n > 0) {
            buf[o++] = 0x12;
            o = writeVarint(buf, o, n);
            buf.set(t.buffers[t.buffer[c]!]!.subarray(from, from + n), o);
            o += n;
          }
          const lo = t.hash[2 * c]!;
          const hi = t.hash[2 * c + 1]!;
          if (lo !== 0 || hi !== 0) {
            buf[o++] = 0x18;
            o = writeU64Parts(buf, o, lo, hi);
          }
        }
      }
    }
    if (o !== buf.length) throw new Error(`internal error: series frame size ${buf.length}, wrote ${o} bytes`);
    pending = [];
    scratch = [];
    seriesSizes = [];
    frameBytes = 0;
    return lazySeriesFrame(batch ? "batch" : "series", buf, { headroom: true });
  }

  return {
    add(s) {
      let size = 0;
      for (const l of s.labels) {
        const nl = utf8Length(l.name);
        const vl = utf8Length(l.value);
        const ls = (nl > 0 ? 1 + varintSize(nl) + nl : 0) + (vl > 0 ? 1 + varintSize(vl) + vl : 0);
        scratch.push(nl, vl, ls);
        size += 1 + varintSize(ls) + ls;
      }
      for (const r of s.runs) {
        const t = r.table;
        for (let c = r.from; c < r.to; c++) {
          const type = t.encoding[c]! - 1;
          const n = t.end[c]! - t.start[c]!;
          const lo = t.hash[2 * c]!;
          const hi = t.hash[2 * c + 1]!;
          const mint = t.mint[c]!;
          const maxt = t.maxt[c]!;
          const raw = (type !== 0 ? 1 + varintSize(type) : 0) + (n > 0 ? 1 + varintSize(n) + n : 0) + (lo !== 0 || hi !== 0 ? 1 + u64PartsSize(lo, hi) : 0);
          const aggr = (mint !== 0 ? 1 + int64Size(mint) : 0) + (maxt !== 0 ? 1 + int64Size(maxt) : 0) + 1 + varintSize(raw) + raw;
          scratch.push(aggr, raw);
          size += 1 + varintSize(aggr) + aggr;
        }
      }
      pending.push(s);
      seriesSizes.push(size);
      frameBytes += batch ? 1 + varintSize(size) + size : size;
      return pending.length >= batchSize ? frame() : undefined;
    },
    flush() {
      return pending.length > 0 ? frame() : undefined;
    },
  };
}

/** A SeriesResponse whose bytes are attached for the raw path and whose `result` is decoded on first use. */
/** Varint size of an int64 held as a safe integer (negative: 10 bytes, two's complement). */
function int64Size(v: number): number {
  if (v < 0) return 10;
  if (v < 0x10000000) return varintSize(v);
  // Bit operations on the 32-bit halves: float division and modulo per 7 bits are slow.
  const lo = v >>> 0;
  return u64PartsSize(lo, (v - lo) / 4294967296);
}

/** Varint size of the uint64 `hi * 2^32 + lo` (both unsigned 32-bit). */
function u64PartsSize(lo: number, hi: number): number {
  if (hi === 0) return varintSize(lo);
  const bits = 32 - Math.clz32(hi); // significant bits of hi, 1..32
  return Math.ceil((32 + bits) / 7);
}

/** Writes an int64 held as a safe integer; negatives as 10-byte two's complement, as protobuf does. */
function writeInt64(b: Uint8Array, o: number, v: number): number {
  if (v < 0) return writeUint64(b, o, BigInt.asUintN(64, BigInt(v)));
  if (v < 0x80000000) return writeVarint(b, o, v);
  const lo = v >>> 0;
  return writeU64Parts(b, o, lo, (v - lo) / 4294967296);
}

function writeUint64(b: Uint8Array, o: number, v: bigint): number {
  return writeU64Parts(b, o, Number(v & 0xffffffffn), Number(BigInt.asUintN(32, v >> 32n)));
}

/** Writes the uint64 `hi * 2^32 + lo` as a varint. */
function writeU64Parts(b: Uint8Array, o: number, lo: number, hi: number): number {
  while (hi > 0 || lo >= 0x80) {
    b[o++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  b[o++] = lo;
  return o;
}

