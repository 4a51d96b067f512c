/**
 * The raw Series fast path is the same RPC on the wire: RawSeriesResponse bytes equal
 * SeriesResponse bytes, and fast clients and servers interoperate with ordinary ones.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { RawSeriesResponseSchema } from "../gen/meridian/rawpb/raw_pb.ts";
import { SeriesResponseHintsSchema } from "../gen/store/hintspb/hints_pb.ts";
import { SeriesBatchSchema, SeriesRequestSchema, SeriesResponseSchema } from "../gen/store/storepb/rpc_pb.ts";
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../gen/store/storepb/types_pb.ts";
import { createStoreClient } from "../query/store-client.ts";
import { createNodeTransportFactory } from "../runtime/node/store-transport.ts";
import { fromRawSeriesResponse, RawStore, toRawSeriesResponse, withRawSeriesBytes } from "./raw-series.ts";
import { registerStoreApi } from "./store-api.ts";
import { createTestStore } from "./test-store.ts";

const series = { labels: [{ name: "__name__", value: "up" }, { name: "job", value: "a" }], chunks: [{ minTime: -5n, maxTime: 1700000000000n, raw: { data: new Uint8Array([1, 2, 3]), hash: 2n ** 64n - 1n } }] };
const frames: SeriesResponse[] = [
  create(SeriesResponseSchema, { result: { case: "series", value: series } }),
  create(SeriesResponseSchema, { result: { case: "batch", value: { series: [series, series] } } }),
  create(SeriesResponseSchema, { result: { case: "warning", value: "careful" } }),
  create(SeriesResponseSchema, { result: { case: "hints", value: anyPack(SeriesResponseHintsSchema, create(SeriesResponseHintsSchema, { queriedBlocks: [{ id: "01ABC" }] })) } }),
];

describe("raw Series frames", () => {
  it.each(frames.map((f) => [f.result.case, f] as const))("%s frame has identical wire bytes", (_c, frame) => {
    const ordinary = toBinary(SeriesResponseSchema, frame);
    expect(toBinary(RawSeriesResponseSchema, toRawSeriesResponse(frame))).toEqual(ordinary);
    const back = fromRawSeriesResponse(fromBinary(RawSeriesResponseSchema, ordinary));
    expect(toBinary(SeriesResponseSchema, back)).toEqual(ordinary);
  });

  it("sends bytes attached with withRawSeriesBytes as they are", () => {
    const bytes = toBinary(SeriesBatchSchema, create(SeriesBatchSchema, { series: [series] }));
    const frame = withRawSeriesBytes(create(SeriesResponseSchema, {}), "batch", bytes);
    expect(toRawSeriesResponse(frame).result).toEqual({ case: "batch", value: bytes });
    expect(toBinary(RawSeriesResponseSchema, toRawSeriesResponse(frame))).toEqual(toBinary(SeriesResponseSchema, create(SeriesResponseSchema, { result: { case: "batch", value: { series: [series] } } })));
  });

  it("keeps the Thanos method path", () => {
    expect(RawStore.method.series.parent.typeName).toBe("thanos.Store");
    expect(RawStore.method.series.name).toBe("Series");
    expect(RawStore.method.series.input).toBe(SeriesRequestSchema);
  });

  it("a fast client reads an ordinary (protobuf-es) server", async () => {
    const store = createTestStore({ series: [{ labels: { job: "b" }, chunks: [{ minTime: 0, maxTime: 1, data: new Uint8Array([9]) }] }, { labels: { job: "a" }, chunks: [{ minTime: 0, maxTime: 1, data: new Uint8Array([8]) }] }] });
    const server = http2.createServer(connectNodeAdapter({ routes: (r) => registerStoreApi(r, store), grpcWeb: false, connect: false }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const client = createStoreClient(`127.0.0.1:${(server.address() as AddressInfo).port}`, { transportFactory: createNodeTransportFactory() });
    try {
      const got: string[] = [];
      const req = create(SeriesRequestSchema, { minTime: 0n, maxTime: 9n, matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: ".*" }] });
      for await (const f of client.series(req)) if (f.result.case === "series") got.push(`${f.result.value.labels[0]!.value}:${f.result.value.chunks[0]!.raw!.data[0]}`);
      expect(got).toEqual(["a:8", "b:9"]);
    } finally {
      client.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
