/**
 * Wire compatibility with Thanos: encodes StoreAPI messages and compares the bytes with encodings
 * computed by hand from the field tables in shared/reference/storeapi.md. A wrong field number,
 * wire type or enum value changes a tag byte and fails here.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { InfoResponseSchema, Info } from "./info/infopb/rpc_pb.ts";
import { SeriesResponseHintsSchema } from "./store/hintspb/hints_pb.ts";
import { ChunkedReadResponseSchema, ReadRequestSchema, ReadRequest_ResponseType } from "./prompb/remote_pb.ts";
import { Chunk_Encoding as PromChunkEncoding, ChunkSchema as PromChunkSchema } from "./prompb/types_pb.ts";
import {
  Aggr,
  LabelNamesRequestSchema,
  LabelValuesRequestSchema,
  SeriesRequestSchema,
  SeriesResponseSchema,
  Store,
} from "./store/storepb/rpc_pb.ts";
import { Chunk_Encoding, ChunkSchema, LabelMatcher_Type, PartialResponseStrategy } from "./store/storepb/types_pb.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Joins hex fragments ("0a 01", ...) into one normalized string. */
function h(...parts: string[]): string {
  return parts.join(" ").trim().split(/\s+/).join(" ");
}

describe("thanos.SeriesRequest wire format", () => {
  it("uses the Thanos field numbers", () => {
    const req = create(SeriesRequestSchema, {
      minTime: 1n,
      maxTime: 2n,
      matchers: [{ type: LabelMatcher_Type.RE, name: "a", value: "b" }],
      aggregates: [Aggr.COUNT, Aggr.SUM],
      partialResponseStrategy: PartialResponseStrategy.ABORT,
      skipChunks: true,
      queryHints: { stepMillis: 1n, grouping: { by: true, labels: ["x"] }, seriesHashLabelName: "h" },
      shardInfo: { shardIndex: 1n, totalShards: 2n },
      withoutReplicaLabels: ["r"],
      limit: 5n,
      responseBatchSize: 64n,
    });
    expect(hex(toBinary(SeriesRequestSchema, req))).toBe(
      h(
        "08 01", // 1 min_time varint
        "10 02", // 2 max_time
        "1a 08  08 02  12 01 61  1a 01 62", // 3 matchers: type=RE(2) name="a" value="b"
        "2a 02 01 02", // 5 aggregates, packed [COUNT, SUM]
        "38 01", // 7 partial_response_strategy ABORT
        "40 01", // 8 skip_chunks
        "62 0c  08 01  22 05 08 01 1a 01 78  42 01 68", // 12 query_hints: step 1, grouping{by, labels=3 "x"}, 8 "h"
        "6a 04  08 01 10 02", // 13 shard_info
        "72 01 72", // 14 without_replica_labels "r"
        "78 05", // 15 limit
        "80 01 40", // 16 response_batch_size = 64 (two-byte tag)
      ),
    );
  });

  it("encodes negative int64 times as 10-byte varints (int64, not sint64)", () => {
    const bytes = toBinary(SeriesRequestSchema, create(SeriesRequestSchema, { minTime: -1n }));
    expect(hex(bytes)).toBe("08 ff ff ff ff ff ff ff ff ff 01");
  });

  it("places deprecated fields 6, 10, 11 and hints 9 where Thanos does", () => {
    const hints = anyPack(SeriesResponseHintsSchema, create(SeriesResponseHintsSchema, { queriedBlocks: [{ id: "B" }] }));
    const req = create(SeriesRequestSchema, { partialResponseDisabled: true, hints, step: 3n, range: 4n });
    const url = "type.googleapis.com/hintspb.SeriesResponseHints";
    const urlHex = hex(new TextEncoder().encode(url));
    // Any{type_url=1, value=2}; value = SeriesResponseHints{queried_blocks=1 {id=1 "B"}} = 0a 03 0a 01 42
    const anyLen = 2 + url.length + 2 + 5;
    expect(hex(toBinary(SeriesRequestSchema, req))).toBe(
      h("30 01", `4a ${anyLen.toString(16)} 0a ${url.length.toString(16)} ${urlHex} 12 05 0a 03 0a 01 42`, "50 03", "58 04"),
    );
  });
});

describe("thanos.SeriesResponse wire format", () => {
  it("encodes a series frame with an XOR raw chunk and its hash", () => {
    const res = create(SeriesResponseSchema, {
      result: {
        case: "series",
        value: {
          labels: [{ name: "a", value: "1" }],
          chunks: [{ minTime: 10n, maxTime: 20n, raw: { type: Chunk_Encoding.XOR, data: new Uint8Array([1, 2]), hash: 7n } }],
        },
      },
    });
    const bytes = toBinary(SeriesResponseSchema, res);
    expect(hex(bytes)).toBe(
      h(
        "0a 16", // 1 series
        "0a 06 0a 01 61 12 01 31", // Series.labels=1 {name=1 "a", value=2 "1"}
        "12 0c 08 0a 10 14 1a 06", // Series.chunks=2 AggrChunk{min_time=1 10, max_time=2 20, raw=3}
        "12 02 01 02 18 07", // Chunk{type XOR omitted, data=2, hash=3}
      ),
    );
    const back = fromBinary(SeriesResponseSchema, bytes);
    expect(back.result.case).toBe("series");
  });

  it("encodes warning (2), hints (3) and batch (4) frames", () => {
    const w = create(SeriesResponseSchema, { result: { case: "warning", value: "w" } });
    expect(hex(toBinary(SeriesResponseSchema, w))).toBe("12 01 77");
    const b = create(SeriesResponseSchema, { result: { case: "batch", value: { series: [{ labels: [{ name: "a", value: "1" }] }] } } });
    expect(hex(toBinary(SeriesResponseSchema, b))).toBe(h("22 0a 0a 08 0a 06 0a 01 61 12 01 31"));
    const hint = create(SeriesResponseSchema, {
      result: { case: "hints", value: anyPack(SeriesResponseHintsSchema, create(SeriesResponseHintsSchema, {})) },
    });
    const bytes = toBinary(SeriesResponseSchema, hint);
    expect(bytes[0]).toBe(0x1a);
    const decoded = fromBinary(SeriesResponseSchema, bytes);
    expect(decoded.result.case).toBe("hints");
    if (decoded.result.case === "hints") {
      expect(decoded.result.value.typeUrl).toBe("type.googleapis.com/hintspb.SeriesResponseHints");
      expect(anyUnpack(decoded.result.value, SeriesResponseHintsSchema)).toBeDefined();
    }
  });

  it("numbers chunk encodings XOR=0, HISTOGRAM=1, FLOAT_HISTOGRAM=2 and AggrChunk aggregates 4..8", () => {
    expect(hex(toBinary(ChunkSchema, create(ChunkSchema, { type: Chunk_Encoding.HISTOGRAM })))).toBe("08 01");
    expect(hex(toBinary(ChunkSchema, create(ChunkSchema, { type: Chunk_Encoding.FLOAT_HISTOGRAM })))).toBe("08 02");
    const res = create(SeriesResponseSchema, {
      result: { case: "series", value: { chunks: [{ count: {}, sum: {}, min: {}, max: {}, counter: {} }] } },
    });
    expect(hex(toBinary(SeriesResponseSchema, res))).toBe(h("0a 0c 12 0a 22 00 2a 00 32 00 3a 00 42 00"));
  });
});

describe("label API and Info wire format", () => {
  it("numbers LabelNames/LabelValues request fields as Thanos", () => {
    const ln = create(LabelNamesRequestSchema, {
      partialResponseDisabled: true, partialResponseStrategy: PartialResponseStrategy.ABORT, start: 1n, end: 2n,
      matchers: [{ name: "a", value: "b" }], withoutReplicaLabels: ["r"], limit: 3n,
    });
    expect(hex(toBinary(LabelNamesRequestSchema, ln))).toBe(h("08 01 10 01 18 01 20 02 32 06 12 01 61 1a 01 62 3a 01 72 40 03"));
    const lv = create(LabelValuesRequestSchema, {
      label: "n", partialResponseDisabled: true, partialResponseStrategy: PartialResponseStrategy.ABORT, start: 1n, end: 2n,
      matchers: [{ name: "a", value: "b" }], withoutReplicaLabels: ["r"], limit: 3n,
    });
    expect(hex(toBinary(LabelValuesRequestSchema, lv))).toBe(h("0a 01 6e 10 01 18 01 20 01 28 02 3a 06 12 01 61 1a 01 62 42 01 72 48 03"));
  });

  it("encodes InfoResponse with label sets, ComponentType and StoreInfo", () => {
    const lset = { labels: [{ name: "a", value: "1" }] };
    const info = create(InfoResponseSchema, {
      labelSets: [lset],
      ComponentType: "store",
      store: {
        minTime: 1n, maxTime: 2n, supportsSharding: true, supportsWithoutReplicaLabels: true,
        tsdbInfos: [{ labels: lset, minTime: 1n, maxTime: 2n }], supportsProjections: true,
      },
      rules: {},
      query: {},
    });
    expect(hex(toBinary(InfoResponseSchema, info))).toBe(
      h(
        "0a 08 0a 06 0a 01 61 12 01 31", // 1 label_sets
        "12 05 73 74 6f 72 65", // 2 ComponentType "store"
        "1a 1a 08 01 10 02 18 01 28 01", // 3 store: min 1, max 2, sharding=3, without_replica=5 (4 reserved)
        "32 0e 0a 08 0a 06 0a 01 61 12 01 31 10 01 18 02", // StoreInfo.tsdb_infos=6
        "38 01", // supports_projections=7
        "22 00", // 4 rules {} (present = offered)
        "42 00", // 8 query {}
      ),
    );
  });

  it("exposes the Thanos service and method names", () => {
    expect(Store.typeName).toBe("thanos.Store");
    expect(Store.method.series.name).toBe("Series");
    expect(Store.method.series.methodKind).toBe("server_streaming");
    expect(Store.method.labelNames.name).toBe("LabelNames");
    expect(Store.method.labelValues.name).toBe("LabelValues");
    expect(Info.typeName).toBe("thanos.info.Info");
    expect(Info.method.info.name).toBe("Info");
  });
});

describe("prometheus remote-read wire format", () => {
  it("numbers ReadRequest, Chunk and ChunkedReadResponse as upstream prompb", () => {
    const rr = create(ReadRequestSchema, {
      queries: [{ startTimestampMs: 1n, endTimestampMs: 2n, matchers: [{ name: "a", value: "b" }] }],
      acceptedResponseTypes: [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS],
    });
    expect(hex(toBinary(ReadRequestSchema, rr))).toBe(h("0a 0c 08 01 10 02 1a 06 12 01 61 1a 01 62 12 01 01"));
    const c = create(PromChunkSchema, { minTimeMs: 1n, maxTimeMs: 2n, type: PromChunkEncoding.XOR, data: new Uint8Array([9]) });
    expect(hex(toBinary(PromChunkSchema, c))).toBe("08 01 10 02 18 01 22 01 09");
    const cr = create(ChunkedReadResponseSchema, { chunkedSeries: [{ labels: [{ name: "a", value: "1" }], chunks: [c] }], queryIndex: 2n });
    expect(hex(toBinary(ChunkedReadResponseSchema, cr))).toBe(h("0a 13 0a 06 0a 01 61 12 01 31 12 09 08 01 10 02 18 01 22 01 09 10 02"));
  });
});
