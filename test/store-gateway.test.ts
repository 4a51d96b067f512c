/**
 * The store gateway in-process over real Prometheus blocks (promtool fixtures) in a bucket:
 * Series results are compared sample-by-sample (float bits) with expected.json for many matcher
 * combinations and time ranges; framing (batches, limit, skip_chunks, hints), label APIs and Info
 * are checked on the same data.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { LabelNamesRequestSchema, LabelValuesRequestSchema } from "../src/gen/store/storepb/rpc_pb.ts";
import { createMatcher } from "../src/model/matcher.ts";
import { createMemoryBucket } from "../src/objstore/memory-bucket.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { matchersToProto } from "../src/server/store-api-convert.ts";
import { createBucketStore, type BucketStore } from "../src/store/bucket-store.ts";
import type { MeridianWasm } from "../src/wasm/module.ts";
import { assertMatches, collectSeries, expectedFor, fmt, loadExpected, seriesRequest, uploadFixtureGroup, type ExpSeries, type M } from "./helpers/s3rver-store.ts";

const GROUP = "promtool-openmetrics-2.42";


describe("store gateway over promtool blocks", () => {
  let wasm: MeridianWasm;
  let store: BucketStore;
  let all: ExpSeries[];
  let ids: string[];
  const T0 = 1700000000000;
  const END = 1700020000000;

  beforeAll(async () => {
    wasm = await loadWasm();
    const bucket = createMemoryBucket();
    ids = await uploadFixtureGroup(bucket, GROUP);
    store = createBucketStore({ bucket, metrics: createMetricsRegistry(), batchSize: 2 });
    expect(store.ready()).toBe(false);
    const r = await store.sync();
    expect(r.total).toBe(4);
    expect(store.ready()).toBe(true);
    all = loadExpected(GROUP);
  });

  const series = (matchers: M[], mint = T0 - 1000, maxt = END, extra = {}) =>
    collectSeries(store.storeApi.series(seriesRequest(matchers, mint, maxt, extra), new AbortController().signal));

  const combos: M[][] = [
    [["=", "job", "demo"]],
    [["=", "__name__", "demo_gauge"]],
    [["=", "__name__", "demo_gauge"], ["=", "instance", "b"]],
    [["!=", "instance", "a"]],
    [["=~", "__name__", "demo_(gauge|irregular)"]],
    [["=~", "__name__", ".*requests.*"]],
    [["!~", "__name__", "demo_gauge"]],
    [["=~", "instance", ".+"]],
    [["=~", "instance", ""], ["=", "job", "demo"]],
    [["!~", "instance", "a|b"]],
    [["=", "instance", ""]],
    [["!=", "instance", ""]],
    [["=", "job", "nope"]],
    [["=~", "job", "de.o"], ["!=", "__name__", "demo_irregular"], ["!~", "instance", "b"]],
  ];
  for (const ms of combos) {
    it(`Series ${ms.map(([t, n, v]) => `${n}${t}"${v}"`).join(",")} equals the source samples`, async () => {
      const got = await series(ms);
      assertMatches(wasm, got, expectedFor(all, ms, T0 - 1000, END));
      expect(got.frames[got.frames.length - 1]).toBe("hints");
      expect(got.warnings).toEqual([]);
    });
  }

  it("filters at chunk level by time range and reports only the blocks it queried", async () => {
    const mint = 1700003000000;
    const maxt = 1700008000000;
    const got = await series([["=", "job", "demo"]], mint, maxt);
    const want = expectedFor(all, [["=", "job", "demo"]], mint, maxt);
    assertMatches(wasm, got, want);
    // Chunks may extend beyond the range, but each one overlaps it.
    for (const s of got.series) for (const c of s.chunks) expect(c.maxTime >= mint && c.minTime <= maxt).toBe(true);
    expect(got.queriedBlocks!.sort()).toEqual(ids.slice(0, 2).sort());
  });

  it("returns nothing outside the data", async () => {
    const got = await series([["=", "job", "demo"]], 0, 1000);
    expect(got.series).toEqual([]);
    expect(got.queriedBlocks).toEqual([]);
  });

  it("skip_chunks returns labels only, limit caps series, response_batch_size packs SeriesBatch frames", async () => {
    const skip = await series([["=", "job", "demo"]], T0, END, { skipChunks: true });
    expect(skip.series.map((s) => fmt(s.labels))).toEqual(all.map((s) => fmt(s.labels)));
    expect(skip.series.every((s) => s.chunks.length === 0)).toBe(true);
    const limited = await series([["=", "job", "demo"]], T0, END, { limit: 2n });
    expect(limited.series.map((s) => fmt(s.labels))).toEqual(all.slice(0, 2).map((s) => fmt(s.labels)));
    const batched = await series([["=", "job", "demo"]], T0, END, { responseBatchSize: 3n });
    expect(batched.frames).toEqual(["batch:3", "batch:1", "hints"]);
    assertMatches(wasm, batched, expectedFor(all, [["=", "job", "demo"]], T0, END));
  });

  it("rejects invalid matchers with InvalidArgument", async () => {
    const err = await series([["=~", "job", "(unclosed"]]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("answers LabelNames and LabelValues with and without matchers and time range", async () => {
    const api = store.storeApi;
    const signal = new AbortController().signal;
    const names = await api.labelNames(create(LabelNamesRequestSchema, { start: BigInt(T0), end: BigInt(END) }), signal);
    expect(names.names).toEqual(["__name__", "instance", "job"]);
    const irregular = await api.labelNames(
      create(LabelNamesRequestSchema, { start: BigInt(T0), end: BigInt(END), matchers: matchersToProto([createMatcher("=", "__name__", "demo_irregular")]) }),
      signal,
    );
    expect(irregular.names).toEqual(["__name__", "job"]);
    const values = await api.labelValues(create(LabelValuesRequestSchema, { label: "__name__", start: BigInt(T0), end: BigInt(END) }), signal);
    expect(values.values).toEqual(["demo_gauge", "demo_irregular", "demo_requests_total"]);
    const late = await api.labelValues(create(LabelValuesRequestSchema, { label: "__name__", start: 1700014000000n, end: BigInt(END) }), signal);
    expect(late.values).toEqual(["demo_irregular"]);
    const inst = await api.labelValues(
      create(LabelValuesRequestSchema, { label: "instance", start: BigInt(T0), end: BigInt(END), matchers: matchersToProto([createMatcher("!=", "instance", "a")]) }),
      signal,
    );
    expect(inst.values).toEqual(["b"]);
    const limited = await api.labelValues(create(LabelValuesRequestSchema, { label: "__name__", limit: 1n }), signal);
    expect(limited.values).toEqual(["demo_gauge"]);
    const replica = await api.labelValues(create(LabelValuesRequestSchema, { label: "instance", withoutReplicaLabels: ["instance"] }), signal);
    expect(replica.values).toEqual([]);
  });

  it("reports Info: component store, time range of the blocks, no label sets for plain Prometheus blocks", async () => {
    const info = await store.storeApi.info();
    expect(info.ComponentType).toBe("store");
    expect(info.labelSets).toEqual([]);
    expect(info.store!.minTime).toBe(BigInt(T0));
    expect(info.store!.supportsWithoutReplicaLabels).toBe(true);
    expect(Number(info.store!.maxTime)).toBeGreaterThan(1700020000000 - 3_600_000 * 2);
  });
});
