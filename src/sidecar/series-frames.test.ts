import { create, toBinary, toJson } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RawSeriesResponseSchema } from "../gen/meridian/rawpb/raw_pb.ts";
import { SeriesResponseSchema } from "../gen/store/storepb/rpc_pb.ts";
import { SeriesSchema } from "../gen/store/storepb/types_pb.ts";
import { grpcSeriesFrame, toRawSeriesResponse } from "../server/raw-series.ts";
import { createSeriesFrameBuilder } from "./series-frames.ts";

const str = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: "grapheme", maxLength: 40 }));
const series = fc.record({
  labels: fc.array(fc.record({ name: str, value: str }), { maxLength: 4 }),
  chunks: fc.array(
    fc.record({ minTime: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), maxTime: fc.bigInt({ min: 0n, max: 2n ** 50n }), raw: fc.record({ type: fc.integer({ min: 0, max: 2 }), data: fc.uint8Array({ maxLength: 300 }) }) }),
    { maxLength: 3 },
  ),
});

// The chunk fields of a Series as the decoder hands them over: a label-less Series' encoding.
const chunkBytes = (s: { chunks: unknown[] }) => toBinary(SeriesSchema, create(SeriesSchema, { chunks: s.chunks as never }));

describe("createSeriesFrameBuilder", () => {
  it("builds the bytes protobuf-es encodes, in batches and one by one, and decodes result lazily", () => {
    fc.assert(
      fc.property(fc.array(series, { maxLength: 7 }), fc.integer({ min: 1, max: 3 }), (list, batchSize) => {
        const b = createSeriesFrameBuilder(batchSize);
        const frames = [...list.map((s) => b.add(s.labels, [{ buf: chunkBytes(s), start: 0, size: chunkBytes(s).length }])), b.flush()].filter((f) => f !== undefined);
        const want =
          batchSize > 1
            ? Array.from({ length: Math.ceil(list.length / batchSize) }, (_, i) =>
                create(SeriesResponseSchema, { result: { case: "batch", value: { series: list.slice(i * batchSize, (i + 1) * batchSize) as never } } }),
              )
            : list.map((s) => create(SeriesResponseSchema, { result: { case: "series", value: s as never } }));
        expect(frames.length).toBe(want.length);
        frames.forEach((f, i) => {
          const bytes = toBinary(SeriesResponseSchema, want[i]!);
          expect([...toBinary(RawSeriesResponseSchema, toRawSeriesResponse(f))]).toEqual([...bytes]);
          // Framed in place for gRPC: the 5-byte message prefix, then the same bytes.
          const prefix = [0, bytes.length >>> 24, (bytes.length >>> 16) & 0xff, (bytes.length >>> 8) & 0xff, bytes.length & 0xff];
          expect([...grpcSeriesFrame(f)]).toEqual([...prefix, ...bytes]);
          // The lazily decoded result is the same message (JSON clients, in-process callers).
          expect(toJson(SeriesResponseSchema, f)).toEqual(toJson(SeriesResponseSchema, want[i]!));
        });
      }),
      { numRuns: 300 },
    );
  });
});
