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

/**
 * Marks `res` as already encoded: `bytes` is the content of its `series` (a thanos.Series) or
 * `batch` (a thanos.SeriesBatch) and the raw path sends them as they are instead of encoding
 * `res.result`. For stores that hold wire bytes anyway (the sidecar passes Prometheus' chunk bytes
 * through): `res` may then compute `result` lazily, for JSON clients and in-process callers.
 */
export function withRawSeriesBytes(res: SeriesResponse, kind: "series" | "batch", bytes: Uint8Array): SeriesResponse {
  preEncoded.set(res, { $typeName: "meridian.raw.RawSeriesResponse", result: { case: kind, value: bytes } });
  return res;
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
