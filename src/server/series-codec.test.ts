import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeriesBatchSchema } from "../gen/store/storepb/rpc_pb.ts";
import { SeriesSchema } from "../gen/store/storepb/types_pb.ts";
import type { Series } from "../gen/store/storepb/types_pb.ts";
import { decodeSeries, decodeSeriesBatch, encodeSeries, encodeSeriesBatch, SeriesDecodeError } from "./series-codec.ts";

const int64 = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -5n, max: 2n ** 41n }), fc.constant(0n));
const uint64 = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constant(0n), fc.bigInt({ min: 0n, max: 300n }));
const str = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 40 }), fc.constant(""), fc.string({ minLength: 33, maxLength: 80 }));
const chunk = fc.record({ type: fc.integer({ min: 0, max: 2 }), data: fc.uint8Array({ maxLength: 300 }), hash: uint64 });
const aggr = fc.record({
  minTime: int64, maxTime: int64,
  raw: fc.option(chunk, { nil: undefined }), count: fc.option(chunk, { nil: undefined }), sum: fc.option(chunk, { nil: undefined }),
  min: fc.option(chunk, { nil: undefined }), max: fc.option(chunk, { nil: undefined }), counter: fc.option(chunk, { nil: undefined }),
});
const seriesArb = fc.record({ labels: fc.array(fc.record({ name: str, value: str }), { maxLength: 8 }), chunks: fc.array(aggr, { maxLength: 5 }) })
  .map((s) => create(SeriesSchema, s));

/** Normalizes objects so protobuf-es and codec output compare structurally (absent == undefined). */
function plain(s: Series): unknown {
  return JSON.parse(JSON.stringify(s, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Array.from(v) : v)));
}

describe("series codec", () => {
  it("encodes byte-identically to protobuf-es", () => {
    fc.assert(fc.property(seriesArb, (s) => {
      expect(encodeSeries(s)).toEqual(toBinary(SeriesSchema, s));
    }), { numRuns: 500 });
  });

  it("decodes what protobuf-es encodes into equal messages", () => {
    fc.assert(fc.property(seriesArb, (s) => {
      const bytes = toBinary(SeriesSchema, s);
      expect(plain(decodeSeries(bytes))).toEqual(plain(fromBinary(SeriesSchema, bytes)));
    }), { numRuns: 500 });
  });

  it("round-trips batches", () => {
    fc.assert(fc.property(fc.array(seriesArb, { maxLength: 6 }), (list) => {
      const bytes = toBinary(SeriesBatchSchema, create(SeriesBatchSchema, { series: list }));
      expect(encodeSeriesBatch(list)).toEqual(bytes);
      expect(decodeSeriesBatch(bytes).map(plain)).toEqual(list.map(plain));
    }), { numRuns: 200 });
  });

  it("skips unknown fields and returns chunk data as views", () => {
    // Series{labels:{name:"a"}, field 9 varint 5, chunks:{raw:{data:[1,2]}}}
    const bytes = new Uint8Array([0x0a, 0x03, 0x0a, 0x01, 0x61, 0x48, 0x05, 0x12, 0x06, 0x1a, 0x04, 0x12, 0x02, 0x01, 0x02]);
    const s = decodeSeries(bytes);
    expect(s.labels[0]!.name).toBe("a");
    expect(s.chunks[0]!.raw!.data.buffer).toBe(bytes.buffer);
  });

  it("reports truncated or overlong input with the message and offset", () => {
    const bytes = toBinary(SeriesSchema, create(SeriesSchema, { labels: [{ name: "abc", value: "def" }] }));
    expect(() => decodeSeries(bytes.subarray(0, bytes.length - 2))).toThrow(SeriesDecodeError);
    expect(() => decodeSeries(bytes.subarray(0, bytes.length - 2))).toThrow(/decode thanos\.Series.*offset \d+/);
    expect(() => decodeSeries(new Uint8Array([0x12, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/varint too long/);
  });
});
