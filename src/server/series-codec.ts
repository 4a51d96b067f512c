/**
 * Hand-written protobuf codec for the StoreAPI's hot messages (`thanos.Series`, `SeriesBatch`):
 * Series frames are most of the bytes between stores and queriers, and the generic reflection-based
 * codec of protobuf-es spends several microseconds per series. This codec produces and reads exactly
 * the same wire bytes (field order, packed/varint forms, defaults omitted — checked against
 * protobuf-es in tests) and returns objects of the generated message types, so callers cannot tell
 * the difference. Unknown fields are skipped on decode.
 */
export { decodeSeries, decodeSeriesBatch, SeriesDecodeError } from "./series-codec-decode.ts";
export { encodeSeries, encodeSeriesBatch } from "./series-codec-encode.ts";
