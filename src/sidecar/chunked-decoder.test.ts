import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkedReadResponseSchema } from "../gen/prompb/remote_pb.ts";
import { ChunkedSeriesSchema } from "../gen/prompb/types_pb.ts";
import { RawSeriesResponseSchema } from "../gen/meridian/rawpb/raw_pb.ts";
import { SeriesResponseSchema } from "../gen/store/storepb/rpc_pb.ts";
import { SeriesSchema } from "../gen/store/storepb/types_pb.ts";
import { toRawSeriesResponse } from "../server/raw-series.ts";
import { createSeriesFrameBuilder } from "./series-frames.ts";
import { createChunkArena, encodedChunksBytes, releaseEncodedChunks, type EncodedChunks } from "./chunk-arena.ts";
import { ChunkedDecodeError, decodeChunkedReadResponse } from "./chunked-decoder.ts";

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const str = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: "grapheme", maxLength: 80 }));
const message = fc.record({
  queryIndex: fc.bigInt({ min: 0n, max: 1000n }),
  chunkedSeries: fc.array(
    fc.record({
      labels: fc.array(fc.record({ name: str, value: str }), { maxLength: 4 }),
      chunks: fc.array(fc.record({ minTimeMs: int64, maxTimeMs: int64, type: fc.integer({ min: 1, max: 3 }), data: fc.uint8Array({ maxLength: 50 }) }), { maxLength: 4 }),
    }),
    { maxLength: 3 },
  ),
});

describe("decodeChunkedReadResponse", () => {
  it("agrees with the generated decoder on any message", () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = toBinary(ChunkedReadResponseSchema, create(ChunkedReadResponseSchema, m));
        const got = decodeChunkedReadResponse(bytes);
        expect(got.queryIndex).toBe(Number(m.queryIndex));
        expect(got.series.map((s) => s.labels)).toEqual(m.chunkedSeries.map((s) => s.labels));
        // The rewritten chunk fields are exactly what protobuf-es encodes for the equivalent AggrChunks.
        got.series.forEach((s, i) => {
          const want = create(SeriesSchema, {
            chunks: m.chunkedSeries[i]!.chunks.map((c) => ({ minTime: c.minTimeMs, maxTime: c.maxTimeMs, raw: { type: c.type - 1, data: c.data } })),
          });
          expect([...encodedChunksBytes(s.chunks)]).toEqual([...toBinary(SeriesSchema, want)]);
          expect(s.chunkCount).toBe(want.chunks.length);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("keeps each series' chunk fields contiguous when the shared arena fills up mid-series", () => {
    // A tiny arena: nearly every chunk moves the series to a new buffer; earlier series keep theirs.
    const arena = createChunkArena(16);
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), (msgs) => {
        const decoded = msgs.map((m) => decodeChunkedReadResponse(toBinary(ChunkedReadResponseSchema, create(ChunkedReadResponseSchema, m)), undefined, undefined, arena));
        decoded.forEach((got, k) =>
          got.series.forEach((s, i) => {
            const want = create(SeriesSchema, {
              chunks: msgs[k]!.chunkedSeries[i]!.chunks.map((c) => ({ minTime: c.minTimeMs, maxTime: c.maxTimeMs, raw: { type: c.type - 1, data: c.data } })),
            });
            expect([...encodedChunksBytes(s.chunks)]).toEqual([...toBinary(SeriesSchema, want)]);
          }),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("recycles arena blocks only when no pending series refers to them, whatever the release order", () => {
    const chunkOf = fc.record({ minTimeMs: int64, maxTimeMs: int64, type: fc.constant(1), data: fc.uint8Array({ maxLength: 60 }) });
    // Steps: decode a one-series frame, or release (after checking) the pending series at an index.
    const step = fc.oneof(fc.array(chunkOf, { maxLength: 3 }), fc.nat(20));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const arena = createChunkArena(64);
        const pending: { chunks: EncodedChunks; want: Uint8Array }[] = [];
        const check = (p: { chunks: EncodedChunks; want: Uint8Array }) => expect([...encodedChunksBytes(p.chunks)]).toEqual([...p.want]);
        for (const st of steps) {
          if (typeof st === "number") {
            if (pending.length === 0) continue;
            const [p] = pending.splice(st % pending.length, 1);
            check(p!);
            releaseEncodedChunks(p!.chunks);
            continue;
          }
          const m = create(ChunkedReadResponseSchema, { chunkedSeries: [{ labels: [{ name: "a", value: "b" }], chunks: st }] });
          const got = decodeChunkedReadResponse(toBinary(ChunkedReadResponseSchema, m), undefined, undefined, arena).series[0]!;
          const want = toBinary(SeriesSchema, create(SeriesSchema, { chunks: st.map((c) => ({ minTime: c.minTimeMs, maxTime: c.maxTimeMs, raw: { type: 0, data: c.data } })) }));
          pending.push({ chunks: got.chunks, want });
          // Everything still pending is intact after each decode (no block reused too early).
          pending.forEach(check);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("labels reach the frame builder's output exactly as protobuf-es encodes them, whatever form Prometheus sent them in", () => {
    const enc = new TextEncoder();
    const varint = (n: number) => {
      const out: number[] = [];
      while (n >= 0x80) {
        out.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      out.push(n);
      return out;
    };
    const field = (tag: number, bytes: number[]) => [tag, ...varint(bytes.length), ...bytes];
    // One label message in a chosen form: canonical, explicit empty strings, value first, an
    // unknown field, or a non-minimal length varint.
    const labelBytes = (name: string, value: string, form: number): number[] => {
      const n = [...enc.encode(name)];
      const v = [...enc.encode(value)];
      const nf = n.length > 0 || form === 1 ? field(0x0a, n) : [];
      const vf = v.length > 0 || form === 1 ? field(0x12, v) : [];
      if (form === 2) return [...vf, ...nf];
      if (form === 3) return [...nf, ...vf, 0x18, 7];
      if (form === 4 && n.length > 0 && n.length < 0x80) return [0x0a, n.length | 0x80, 0, ...n, ...vf];
      return [...nf, ...vf];
    };
    const series = fc.record({
      labels: fc.array(fc.record({ name: str, value: str, form: fc.integer({ min: 0, max: 4 }) }), { maxLength: 4 }),
      labelsAfterChunks: fc.boolean(),
      chunks: fc.array(fc.record({ minTimeMs: int64, maxTimeMs: int64, type: fc.integer({ min: 1, max: 3 }), data: fc.uint8Array({ maxLength: 30 }) }), { maxLength: 2 }),
    });
    fc.assert(
      fc.property(fc.array(series, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 2 }), (list, batchSize) => {
        const msg: number[] = [];
        for (const s of list) {
          const chunkFields = [...toBinary(ChunkedSeriesSchema, create(ChunkedSeriesSchema, { chunks: s.chunks }))];
          const labelFields = s.labels.flatMap((l) => field(0x0a, labelBytes(l.name, l.value, l.form)));
          msg.push(...field(0x0a, s.labelsAfterChunks ? [...chunkFields, ...labelFields] : [...labelFields, ...chunkFields]));
        }
        const decoded = decodeChunkedReadResponse(new Uint8Array(msg), undefined, undefined, createChunkArena(32));
        const b = createSeriesFrameBuilder(batchSize);
        const got: number[] = [];
        for (const s of decoded.series) {
          const f = b.add(s.labels, [s.chunks]);
          // The frame's own bytes (what gRPC sends), not its lazily decoded form.
          if (f) got.push(...toBinary(RawSeriesResponseSchema, toRawSeriesResponse(f)));
        }
        const last = b.flush();
        if (last) got.push(...toBinary(RawSeriesResponseSchema, toRawSeriesResponse(last)));
        const want: number[] = [];
        const seriesMsgs = list.map((s) =>
          create(SeriesSchema, {
            labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
            chunks: s.chunks.map((c) => ({ minTime: c.minTimeMs, maxTime: c.maxTimeMs, raw: { type: c.type - 1, data: c.data } })),
          }),
        );
        for (let i = 0; i < seriesMsgs.length; i += batchSize) {
          const part = seriesMsgs.slice(i, i + batchSize);
          const res = batchSize > 1 ? create(SeriesResponseSchema, { result: { case: "batch", value: { series: part } } }) : create(SeriesResponseSchema, { result: { case: "series", value: part[0]! } });
          want.push(...toBinary(SeriesResponseSchema, res));
        }
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  it("skips unknown fields and rejects truncated input and unknown encodings", () => {
    const bytes = toBinary(ChunkedReadResponseSchema, create(ChunkedReadResponseSchema, { chunkedSeries: [{ labels: [{ name: "a", value: "b" }], chunks: [{ type: 1, data: new Uint8Array([1, 2]) }] }] }));
    // Field 9 (varint 5) and field 10 (bytes "xy") appended at top level.
    const extended = new Uint8Array([...bytes, 9 << 3, 5, (10 << 3) | 2, 2, 120, 121]);
    expect(decodeChunkedReadResponse(extended).series[0]!.labels).toEqual([{ name: "a", value: "b" }]);
    expect(() => decodeChunkedReadResponse(bytes.subarray(0, bytes.length - 1))).toThrow(ChunkedDecodeError);
    // A chunk whose length claims more bytes than its series holds.
    const overrun = new Uint8Array([0x0a, 4, 0x12, 4, 0x18, 1, 0x22, 0]);
    expect(() => decodeChunkedReadResponse(overrun)).toThrow(ChunkedDecodeError);
    const hist = toBinary(ChunkedReadResponseSchema, create(ChunkedReadResponseSchema, { chunkedSeries: [{ chunks: [{ type: 0, data: new Uint8Array([1]) }] }] }));
    expect(() => decodeChunkedReadResponse(hist)).toThrow(/unsupported chunk encoding 0/);
  });
});
