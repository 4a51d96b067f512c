/**
 * The fast path for `thanos.Store/Series`: the same RPC (same path, same wire bytes), described
 * with `meridian.raw.RawSeriesResponse` as output so Connect hands series, batches and hints over as
 * raw bytes, which the hand-written codec (series-codec.ts) encodes and decodes far faster than the
 * generic protobuf-es codec. Only for binary protobuf: JSON clients get the ordinary method.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMethod } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { RawSeriesResponseSchema } from "../gen/meridian/rawpb/raw_pb.ts";
import type { RawSeriesResponse } from "../gen/meridian/rawpb/raw_pb.ts";
import { SeriesRequestSchema, Store } from "../gen/store/storepb/rpc_pb.ts";
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { decodeSeries, decodeSeriesBatch, encodeSeries, encodeSeriesBatch } from "./series-codec.ts";

/** `thanos.Store` seen with the raw Series output; its one method has the path `/thanos.Store/Series`. */
export type RawStoreService = GenService<{
  series: { methodKind: "server_streaming"; input: typeof SeriesRequestSchema; output: typeof RawSeriesResponseSchema };
}>;

const rawSeriesMethod = { ...Store.method.series, output: RawSeriesResponseSchema } as DescMethod;

/** A service descriptor for clients and routers; `parent` of its method stays `thanos.Store`. */
export const RawStore: RawStoreService = {
  ...Store,
  methods: [rawSeriesMethod],
  method: { series: rawSeriesMethod },
} as unknown as RawStoreService;

// Frames whose Series/SeriesBatch bytes a store built itself (see withRawSeriesBytes).
const preEncoded = new WeakMap<SeriesResponse, RawSeriesResponse>();
// Pre-encoded bytes whose buffer has GRPC_FRAME_HEADROOM spare bytes right before them.
const withHeadroom = new WeakSet<Uint8Array>();

/**
 * Bytes a frame builder may leave free in front of a pre-encoded Series/SeriesBatch (see
 * {@link withRawSeriesBytes}): the gRPC message prefix (5) plus the RawSeriesResponse field tag (1)
 * and length varint (≤ 5), so {@link grpcSeriesFrame} can send the frame without copying it.
 */
export const GRPC_FRAME_HEADROOM = 11;

/**
 * Marks `res` as already encoded: `bytes` is the content of its `series` (a thanos.Series) or
 * `batch` (a thanos.SeriesBatch) and the raw path sends them as they are instead of encoding
 * `res.result`. For stores that hold wire bytes anyway (the sidecar passes Prometheus' chunk bytes
 * through): `res` may then compute `result` lazily, for JSON clients and in-process callers.
 */
export function withRawSeriesBytes(res: SeriesResponse, kind: "series" | "batch", bytes: Uint8Array, opts: { headroom?: boolean } = {}): SeriesResponse {
  if (opts.headroom) {
    if (bytes.byteOffset < GRPC_FRAME_HEADROOM) throw new RangeError(`withRawSeriesBytes: no ${GRPC_FRAME_HEADROOM} bytes of headroom before the frame`);
    withHeadroom.add(bytes);
  }
  preEncoded.set(res, { $typeName: "meridian.raw.RawSeriesResponse", result: { case: kind, value: bytes } });
  return res;
}

const utf8 = new TextEncoder();

// Frame buffers the gRPC server handed back after writing them (see releaseSeriesFrame). A store
// sends tens of MB of frames per large query; allocating each anew made V8 collect garbage for
// "external memory pressure" every query (a full mark-compact plus scavenges), and zero-filled
// every byte before it was overwritten. Bounded: at most POOL_MAX_BYTES are kept.
const pool: ArrayBuffer[] = [];
let pooledBytes = 0;
const POOL_MAX_BYTES = 32 * 1024 * 1024;
const POOL_GRAIN = 4 * 1024;
const POOL_MIN = 16 * 1024;
const fromPool = new WeakSet<ArrayBuffer>();
const released = new WeakSet<Uint8Array>();

/**
 * A buffer for a pre-encoded frame of `n` bytes with {@link GRPC_FRAME_HEADROOM} spare bytes in
 * front (pass the result to {@link withRawSeriesBytes} with `headroom`), reusing one the gRPC
 * server released when one fits. Its content is NOT zeroed: the caller writes every byte.
 */
export function allocFrameBuffer(n: number): Uint8Array {
  const need = GRPC_FRAME_HEADROOM + n;
  // Small frames (single series, Thanos queriers without batching) are exact-size and not pooled:
  // rounding them up would multiply the memory of every frame that is never given back.
  if (need < POOL_MIN) return new Uint8Array(need).subarray(GRPC_FRAME_HEADROOM);
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    const len = pool[i]!.byteLength;
    if (len >= need && len <= 2 * need + POOL_GRAIN && (best < 0 || len < pool[best]!.byteLength)) best = i;
  }
  let ab: ArrayBuffer;
  if (best >= 0) {
    ab = pool[best]!;
    pool[best] = pool[pool.length - 1]!;
    pool.pop();
    pooledBytes -= ab.byteLength;
  } else {
    ab = new ArrayBuffer(Math.ceil(need / POOL_GRAIN) * POOL_GRAIN);
    fromPool.add(ab);
  }
  return new Uint8Array(ab, GRPC_FRAME_HEADROOM, n);
}

/**
 * Gives a sent frame's buffer back for reuse by {@link allocFrameBuffer}. Only for the sender
 * that owns the frame exclusively and has finished writing it (the Node gRPC server calls it once
 * the HTTP/2 stream reports the bytes written); the frame must not be read afterwards (its lazy
 * decode then throws). Frames not built on {@link allocFrameBuffer} are left alone.
 */
export function releaseSeriesFrame(res: SeriesResponse): void {
  const pre = preEncoded.get(res);
  const r = pre?.result;
  if (!r || (r.case !== "series" && r.case !== "batch")) return;
  const ab = r.value.buffer;
  if (!(ab instanceof ArrayBuffer) || !fromPool.has(ab) || released.has(r.value)) return;
  released.add(r.value);
  preEncoded.delete(res);
  if (pooledBytes + ab.byteLength > POOL_MAX_BYTES) return;
  pool.push(ab);
  pooledBytes += ab.byteLength;
}

/** True when `bytes` belongs to a frame given back with {@link releaseSeriesFrame}. */
export function isReleasedFrame(bytes: Uint8Array): boolean {
  return released.has(bytes);
}

/**
 * One SeriesResponse as a complete gRPC length-prefixed message (uncompressed flag, big-endian
 * length, then the message bytes), exactly what the Connect gRPC path puts on the wire for it.
 * Pre-encoded frames marked with headroom are framed in place: the prefix is written into the
 * spare bytes in front of them and the result is a view (no copy).
 */
export function grpcSeriesFrame(res: SeriesResponse): Uint8Array {
  const r = toRawSeriesResponse(res).result;
  if (r.case === undefined) return new Uint8Array(5);
  const tag = r.case === "series" ? 0x0a : r.case === "warning" ? 0x12 : r.case === "hints" ? 0x1a : 0x22;
  const value = typeof r.value === "string" ? utf8.encode(r.value) : r.value;
  const n = value.length;
  const lenSize = n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
  const prefix = 5 + 1 + lenSize;
  let out: Uint8Array;
  if (withHeadroom.has(value)) {
    out = new Uint8Array(value.buffer, value.byteOffset - prefix, prefix + n);
  } else {
    out = new Uint8Array(prefix + n);
    out.set(value, prefix);
  }
  const msg = 1 + lenSize + n;
  out[0] = 0;
  out[1] = msg >>> 24;
  out[2] = (msg >>> 16) & 0xff;
  out[3] = (msg >>> 8) & 0xff;
  out[4] = msg & 0xff;
  out[5] = tag;
  let o = 6;
  let v = n;
  while (v >= 0x80) {
    out[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[o] = v;
  return out;
}

/** Encodes a SeriesResponse frame into its raw form (series and batches by the fast codec). */
export function toRawSeriesResponse(res: SeriesResponse): RawSeriesResponse {
  const pre = preEncoded.get(res);
  if (pre) return pre;
  const r = res.result;
  switch (r.case) {
    case "series":
      return { $typeName: "meridian.raw.RawSeriesResponse", result: { case: "series", value: encodeSeries(r.value) } };
    case "batch":
      return { $typeName: "meridian.raw.RawSeriesResponse", result: { case: "batch", value: encodeSeriesBatch(r.value.series) } };
    case "warning":
      return { $typeName: "meridian.raw.RawSeriesResponse", result: { case: "warning", value: r.value } };
    case "hints":
      return { $typeName: "meridian.raw.RawSeriesResponse", result: { case: "hints", value: toBinary(AnySchema, r.value) } };
    default:
      return { $typeName: "meridian.raw.RawSeriesResponse", result: { case: undefined } };
  }
}

/** Decodes a raw frame into the ordinary SeriesResponse (chunk data stay views into the frame). */
export function fromRawSeriesResponse(raw: RawSeriesResponse): SeriesResponse {
  const r = raw.result;
  switch (r.case) {
    case "series":
      return { $typeName: "thanos.SeriesResponse", result: { case: "series", value: decodeSeries(r.value) } };
    case "batch":
      return { $typeName: "thanos.SeriesResponse", result: { case: "batch", value: { $typeName: "thanos.SeriesBatch", series: decodeSeriesBatch(r.value) } } };
    case "warning":
      return { $typeName: "thanos.SeriesResponse", result: { case: "warning", value: r.value } };
    case "hints":
      return { $typeName: "thanos.SeriesResponse", result: { case: "hints", value: fromBinary(AnySchema, r.value) } };
    default:
      return { $typeName: "thanos.SeriesResponse", result: { case: undefined } };
  }
}

/** True for JSON content types (Connect `application/json`, `+json` variants), which need the ordinary codec. */
export function isJsonContentType(contentType: string | null | undefined): boolean {
  return (contentType ?? "").toLowerCase().includes("json");
}
