/**
 * Helpers for stores that build StoreAPI Series frames directly as protobuf wire bytes (the store
 * gateway and the sidecar): varint and UTF-8 string writing with exact sizes, and the lazily
 * decoded frame that the raw gRPC path sends as it is.
 */
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { isReleasedFrame, withRawSeriesBytes } from "./raw-series.ts";
import { decodeSeries, decodeSeriesBatch } from "./series-codec.ts";

/**
 * A SeriesResponse carrying pre-encoded `thanos.Series` (kind `series`) or `thanos.SeriesBatch`
 * (kind `batch`) bytes: gRPC sends the bytes; `result` is decoded on first read (JSON clients,
 * in-process callers). With `headroom`, `bytes` has GRPC_FRAME_HEADROOM spare bytes in front of it
 * (raw-series.ts) that the gRPC server may overwrite to frame it without a copy.
 */
export function lazySeriesFrame(kind: "series" | "batch", bytes: Uint8Array, opts: { headroom?: boolean } = {}): SeriesResponse {
  let result: SeriesResponse["result"] | undefined;
  const res = {
    $typeName: "thanos.SeriesResponse",
    get result(): SeriesResponse["result"] {
      if (result === undefined && isReleasedFrame(bytes)) throw new Error("internal error: series frame read after its buffer was released");
      result ??=
        kind === "batch"
          ? { case: "batch", value: { $typeName: "thanos.SeriesBatch", series: decodeSeriesBatch(bytes) } }
          : { case: "series", value: decodeSeries(bytes) };
      return result;
    },
  } as SeriesResponse;
  return withRawSeriesBytes(res, kind, bytes, opts);
}

/** Size of `v` (an unsigned 32-bit value) as a protobuf varint. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes `v` (unsigned 32-bit) as a varint at `o`; returns the offset after it. */
export function writeVarint(b: Uint8Array, o: number, v: number): number {
  while (v >= 0x80) {
    b[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[o++] = v;
  return o;
}

const utf8Encoder = new TextEncoder();

/** Writes `s` as UTF-8 (`byteLength` from {@link utf8Length}) at `o`; returns the offset after it. */
export function writeString(buf: Uint8Array, o: number, s: string, byteLength: number): number {
  if (byteLength === s.length) {
    for (let i = 0; i < s.length; i++) buf[o++] = s.charCodeAt(i);
    return o;
  }
  utf8Encoder.encodeInto(s, buf.subarray(o, o + byteLength));
  return o + byteLength;
}

/**
 * Writes the fields of a `thanos.Label` message at `o` (name = 1, value = 2, each left out when
 * empty, as protobuf-es does), given their UTF-8 lengths from {@link utf8Length}; returns the
 * offset after them. The caller writes the label's own tag and length first. Shared by the store
 * gateway's and the sidecar's frame builders.
 */
export function writeLabelFields(buf: Uint8Array, o: number, name: string, nameBytes: number, value: string, valueBytes: number): number {
  if (nameBytes > 0) {
    buf[o++] = 0x0a;
    o = writeVarint(buf, o, nameBytes);
    o = writeString(buf, o, name, nameBytes);
  }
  if (valueBytes > 0) {
    buf[o++] = 0x12;
    o = writeVarint(buf, o, valueBytes);
    o = writeString(buf, o, value, valueBytes);
  }
  return o;
}

/** UTF-8 byte length of a string without encoding it (lone surrogates count 3, as U+FFFD). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}
