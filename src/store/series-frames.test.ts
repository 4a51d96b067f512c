import { create, toBinary } from "@bufbuild/protobuf";
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeriesBatchSchema, type SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { SeriesSchema, type Series } from "../gen/store/storepb/types_pb.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { toRawSeriesResponse } from "../server/raw-series.ts";
import { labelsToProto } from "../server/store-api-convert.ts";
import type { StoreSeries } from "./block-series.ts";
import { createStoreFrameBuilder } from "./series-frames.ts";

/** The message the store sent before frames were built as bytes (the reference encoding). */
function toProto(s: StoreSeries): Series {
  return create(SeriesSchema, {
    labels: labelsToProto(s.labels),
    chunks: s.chunks.map((c) => ({ minTime: BigInt(c.mint), maxTime: BigInt(c.maxt), raw: { type: c.encoding - 1, data: c.data, hash: c.hash } })),
  });
}

function rawBytes(f: SeriesResponse): Uint8Array {
  const r = toRawSeriesResponse(f).result;
  if (r.case !== "series" && r.case !== "batch") throw new Error(`unexpected frame ${r.case}`);
  return r.value;
}

const edgeSeries: StoreSeries[] = [
  {
    labels: labelsFromRecord({ __name__: "up", job: "api", zone: "zürich-\u{1f600}" }),
    chunks: [
      { mint: 0, maxt: 0, encoding: 1, data: new Uint8Array(0), hash: 0n },
      { mint: -1, maxt: Number.MAX_SAFE_INTEGER, encoding: 2, data: new Uint8Array([0, 1, 2]), hash: 0xffffffffffffffffn },
      { mint: Number.MIN_SAFE_INTEGER, maxt: 1_767_225_600_000, encoding: 3, data: new Uint8Array(300).fill(7), hash: 127n },
      { mint: 1_767_225_600_000, maxt: 1_767_232_799_999, encoding: 1, data: new Uint8Array([0, 120, 1]), hash: 0x8000000000000000n },
    ],
  },
  { labels: labelsFromRecord({ a: "" }), chunks: [] },
  { labels: [], chunks: [{ mint: 268435456, maxt: 2 ** 35, encoding: 1, data: new Uint8Array([1]), hash: 2n ** 49n }] },
];

const arbSeries: fc.Arbitrary<StoreSeries> = fc.record({
  labels: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 5 }).map((r) => labelsFromRecord(r)),
  chunks: fc.array(
    fc.record({
      mint: fc.maxSafeInteger().chain((a) => fc.constantFrom(a, 0, -a, a % 1e13)),
      maxt: fc.maxSafeNat(),
      encoding: fc.integer({ min: 1, max: 3 }),
      data: fc.uint8Array({ maxLength: 200 }),
      hash: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    }),
    { maxLength: 6 },
  ),
});

describe("store series frames", () => {
  it("encodes single Series frames byte-identical to protobuf-es", () => {
    const b = createStoreFrameBuilder(1);
    for (const s of edgeSeries) {
      const f = b.add(s)!;
      expect(f).toBeDefined();
      expect(rawBytes(f)).toEqual(toBinary(SeriesSchema, toProto(s)));
      // In-process and JSON callers see the decoded message.
      expect(f.result.case).toBe("series");
      expect(f.result.value).toEqual(toProto(s));
    }
    expect(b.flush()).toBeUndefined();
  });

  it("encodes SeriesBatch frames byte-identical to protobuf-es, flushing the partial batch", () => {
    fc.assert(
      fc.property(fc.array(arbSeries, { minLength: 1, maxLength: 12 }), fc.integer({ min: 2, max: 5 }), (series, size) => {
        const b = createStoreFrameBuilder(size);
        const frames: SeriesResponse[] = [];
        for (const s of series) {
          const f = b.add(s);
          if (f) frames.push(f);
        }
        const last = b.flush();
        if (last) frames.push(last);
        expect(frames.length).toBe(Math.ceil(series.length / size));
        frames.forEach((f, i) => {
          const part = series.slice(i * size, (i + 1) * size);
          const want = create(SeriesBatchSchema, { series: part.map(toProto) });
          expect(rawBytes(f)).toEqual(toBinary(SeriesBatchSchema, want));
          expect(f.result.case).toBe("batch");
          expect(f.result.value).toEqual(want);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("handles the edge cases inside a batch", () => {
    const b = createStoreFrameBuilder(10);
    for (const s of edgeSeries) expect(b.add(s)).toBeUndefined();
    const f = b.flush()!;
    expect(rawBytes(f)).toEqual(toBinary(SeriesBatchSchema, create(SeriesBatchSchema, { series: edgeSeries.map(toProto) })));
  });
});
