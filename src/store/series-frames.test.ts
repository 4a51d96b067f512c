import { create, toBinary } from "@bufbuild/protobuf";
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeriesBatchSchema, type SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { SeriesSchema, type Series } from "../gen/store/storepb/types_pb.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { toRawSeriesResponse } from "../server/raw-series.ts";
import { labelsToProto } from "../server/store-api-convert.ts";
import { chunkTableOf, seriesChunks, storeSeriesOf, type ChunkTable, type StoreChunk, type StoreSeries } from "./chunk-table.ts";
import { createStoreFrameBuilder } from "./series-frames.ts";

/** The message the store sent before frames were built as bytes (the reference encoding). */
function toProto(s: StoreSeries): Series {
  return create(SeriesSchema, {
    labels: labelsToProto(s.labels),
    chunks: seriesChunks(s).map((c) => ({ minTime: BigInt(c.mint), maxTime: BigInt(c.maxt), raw: { type: c.encoding - 1, data: c.data, hash: (BigInt(c.hashHi) << 32n) | BigInt(c.hashLo) } })),
  });
}

function rawBytes(f: SeriesResponse): Uint8Array {
  const r = toRawSeriesResponse(f).result;
  if (r.case !== "series" && r.case !== "batch") throw new Error(`unexpected frame ${r.case}`);
  return r.value;
}

/** A chunk with its hash given as one 64-bit value. */
function chunk(mint: number, maxt: number, encoding: number, data: Uint8Array, hash: bigint): StoreChunk {
  return { mint, maxt, encoding, data, hashLo: Number(BigInt.asUintN(32, hash)), hashHi: Number(hash >> 32n) };
}

const edgeSeries: StoreSeries[] = [
  storeSeriesOf(
    labelsFromRecord({ __name__: "up", job: "api", zone: "zürich-\u{1f600}" }),
    [
      chunk(0, 0, 1, new Uint8Array(0), 0n),
      chunk(-1, Number.MAX_SAFE_INTEGER, 2, new Uint8Array([0, 1, 2]), 0xffffffffffffffffn),
      chunk(Number.MIN_SAFE_INTEGER, 1_767_225_600_000, 3, new Uint8Array(300).fill(7), 127n),
      chunk(1_767_225_600_000, 1_767_232_799_999, 1, new Uint8Array([0, 120, 1]), 0x8000000000000000n),
    ],
  ),
  storeSeriesOf(labelsFromRecord({ a: "" }), []),
  storeSeriesOf([], [chunk(268435456, 2 ** 35, 1, new Uint8Array([1]), 2n ** 49n)]),
];

/** The chunks as two runs of two tables whose data sit at odd offsets inside shared buffers (as range reads hold them). */
function twoRuns(labels: StoreSeries["labels"], chunks: StoreChunk[], cut: number): StoreSeries {
  const table = (part: StoreChunk[]): ChunkTable => {
    const t = chunkTableOf(part);
    const total = part.reduce((n, c) => n + c.data.length + 3, 5);
    const shared = new Uint8Array(total).fill(0xee);
    let o = 5;
    part.forEach((c, k) => {
      shared.set(c.data, o);
      t.buffer[k] = 0;
      t.start[k] = o;
      t.end[k] = o + c.data.length;
      o += c.data.length + 3;
    });
    return { ...t, buffers: [shared] };
  };
  const a = chunks.slice(0, cut);
  const b = chunks.slice(cut);
  return { labels, runs: [{ table: table(a), from: 0, to: a.length }, { table: table(b), from: 0, to: b.length }].filter((r) => r.to > 0) };
}

const arbSeries: fc.Arbitrary<StoreSeries> = fc.record({
  cut: fc.nat(6),
  labels: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 5 }).map((r) => labelsFromRecord(r)),
  chunks: fc.array(
    fc.record({
      mint: fc.maxSafeInteger().chain((a) => fc.constantFrom(a, 0, -a, a % 1e13)),
      maxt: fc.maxSafeNat(),
      encoding: fc.integer({ min: 1, max: 3 }),
      data: fc.uint8Array({ maxLength: 200 }),
      hash: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    }).map((c) => chunk(c.mint, c.maxt, c.encoding, c.data, c.hash)),
    { maxLength: 6 },
  ),
}).map((r) => twoRuns(r.labels, r.chunks, r.cut));

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
