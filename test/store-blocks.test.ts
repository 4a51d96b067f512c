/**
 * Store gateway behaviour over blocks written with the block writer: external labels (winning over
 * series labels, pruning whole blocks), HA replicas with without_replica_labels (re-sorted and
 * merged), overlapping blocks, block sync (partial uploads, new and deleted blocks, deletion
 * marks), corrupted blocks, limits, sharding, and the on-disk index-header cache.
 */
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeriesRequestHintsSchema } from "../src/gen/store/hintspb/hints_pb.ts";
import { ShardInfoSchema } from "../src/gen/store/storepb/rpc_pb.ts";
import { PartialResponseStrategy } from "../src/gen/store/storepb/types_pb.ts";
import { labelsFromRecord } from "../src/model/labels.ts";
import { createMatcher } from "../src/model/matcher.ts";
import type { FloatSeries } from "../src/model/series.ts";
import type { Bucket } from "../src/objstore/bucket.ts";
import { createMemoryBucket } from "../src/objstore/memory-bucket.ts";
import { createFilesystemBucket } from "../src/runtime/node/filesystem-bucket.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { createMetricsRegistry, type MetricsRegistry } from "../src/server/metrics.ts";
import { matchersToProto } from "../src/server/store-api-convert.ts";
import { createBucketStore, type BucketStore, type BucketStoreOptions } from "../src/store/bucket-store.ts";
import { openBlock } from "../src/tsdb/block.ts";
import { writeBlock, type WrittenBlock } from "../src/tsdb/block-writer.ts";
import { createMemoryReader } from "../src/tsdb/byte-range-reader.ts";
import { crc32c } from "../src/tsdb/crc32c.ts";
import type { MeridianWasm } from "../src/wasm/module.ts";
import { decodeXorChunksToSeries } from "../src/wasm/xor.ts";
import { collectSeries, fmt, seriesRequest, uploadWrittenBlock, type M } from "./helpers/s3rver-store.ts";

const T0 = 1_750_000_000_000;
const H2 = 2 * 3600_000;

/** `n` series `up{instance="i-k", job}` with a sample every 15 s over [start, start + 2h). */
function makeSeries(n: number, start: number, extra: Record<string, string> = {}, valueOf = (k: number, t: number) => k * 1000 + (t - start) / 15000): FloatSeries[] {
  const out: FloatSeries[] = [];
  for (let k = 0; k < n; k++) {
    const count = H2 / 15000;
    const t = new Float64Array(count);
    const v = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      t[i] = start + i * 15000;
      v[i] = valueOf(k, t[i]!);
    }
    out.push({ labels: labelsFromRecord({ __name__: "up", instance: `i-${String(k).padStart(3, "0")}`, job: k % 2 ? "odd" : "even", ...extra }), t, v });
  }
  return out.sort((a, b) => (fmt(a.labels) < fmt(b.labels) ? -1 : 1));
}

function block(series: FloatSeries[], start: number, ext?: Record<string, string>): WrittenBlock {
  return writeBlock(series, { minTime: start, maxTime: start + H2, ...(ext ? { thanos: { labels: ext, source: "sidecar" } } : {}) });
}

function counter(reg: MetricsRegistry, name: string): number {
  let total = 0;
  for (const line of reg.render().split("\n")) if (line.startsWith(name) && !line.startsWith("#")) total += Number(line.split(" ").pop());
  return total;
}

function newStore(bucket: Bucket, extra: Partial<BucketStoreOptions> = {}): { store: BucketStore; metrics: MetricsRegistry } {
  const metrics = createMetricsRegistry();
  return { store: createBucketStore({ bucket, metrics, batchSize: 7, ...extra }), metrics };
}

const signal = () => new AbortController().signal;

describe("store gateway: external labels, replicas, overlaps", () => {
  let wasm: MeridianWasm;
  let store: BucketStore;
  let blocks: Record<string, WrittenBlock>;

  beforeAll(async () => {
    wasm = await loadWasm();
    const bucket = createMemoryBucket();
    blocks = {
      // Region eu, two HA replicas with identical data for the same 2h.
      euA: block(makeSeries(20, T0), T0, { region: "eu", replica: "a" }),
      euB: block(makeSeries(20, T0), T0, { region: "eu", replica: "b" }),
      // Region us, one replica, the next 2h; series carry a conflicting "region" label.
      us: block(makeSeries(5, T0 + H2, { region: "series-level" }), T0 + H2, { region: "us", replica: "a" }),
    };
    for (const b of Object.values(blocks)) await uploadWrittenBlock(bucket, b);
    ({ store } = newStore(bucket));
    await store.sync();
  });

  const series = (ms: M[], extra = {}, mint = T0, maxt = T0 + 2 * H2) => collectSeries(store.storeApi.series(seriesRequest(ms, mint, maxt, extra), signal()));

  it("attaches external labels, which win over series labels, and sorts by the labels as sent", async () => {
    const got = await series([["=", "__name__", "up"]]);
    expect(got.series.length).toBe(45);
    const us = got.series.filter((s) => s.labels.some((l) => l.name === "region" && l.value === "us"));
    expect(us.length).toBe(5);
    expect(got.series.some((s) => s.labels.some((l) => l.value === "series-level"))).toBe(false);
    const keys = got.series.map((s) => s.labels);
    for (let i = 1; i < keys.length; i++) expect(fmt(keys[i - 1]!) < fmt(keys[i]!) || keys[i - 1]!.length < keys[i]!.length).toBe(true);
  });

  it("applies matchers on external labels to whole blocks and drops them for series", async () => {
    const got = await series([["=", "region", "eu"], ["=", "replica", "b"], ["=", "job", "odd"]]);
    expect(got.series.length).toBe(10);
    expect(got.queriedBlocks).toEqual([blocks.euB!.ulid]);
    const none = await series([["=", "region", "asia"]]);
    expect(none.series).toEqual([]);
    expect(none.queriedBlocks).toEqual([]);
    // The series-level "region" label is overridden, so it cannot be matched.
    expect((await series([["=", "region", "series-level"]])).series).toEqual([]);
  });

  it("honours block_matchers hints on external labels and __block_id", async () => {
    const hints = anyPack(SeriesRequestHintsSchema, create(SeriesRequestHintsSchema, { blockMatchers: matchersToProto([createMatcher("=~", "__block_id", `${blocks.euA!.ulid}|${blocks.us!.ulid}`)]) }));
    const got = await series([["=", "__name__", "up"]], { hints });
    expect(got.queriedBlocks!.sort()).toEqual([blocks.euA!.ulid, blocks.us!.ulid].sort());
    expect(got.series.length).toBe(25);
  });

  it("strips replica labels, re-sorts, and merges the replicas' series into one with deduplicated chunks", async () => {
    const got = await series([["=", "region", "eu"]], { withoutReplicaLabels: ["replica"] });
    expect(got.series.length).toBe(20);
    expect(got.series.every((s) => !s.labels.some((l) => l.name === "replica"))).toBe(true);
    const sorted = [...got.series].sort((a, b) => (fmt(a.labels) < fmt(b.labels) ? -1 : 1));
    expect(got.series.map((s) => fmt(s.labels))).toEqual(sorted.map((s) => fmt(s.labels)));
    // Identical data in both replicas: each chunk once (same range and hash).
    const one = got.series[0]!;
    const hashes = one.chunks.map((c) => `${c.minTime}:${c.hash}`);
    expect(new Set(hashes).size).toBe(hashes.length);
    const dec = decodeXorChunksToSeries(wasm, one.chunks.map((c) => c.data));
    expect(dec.t.length).toBe(H2 / 15000);
  });

  it("stripping a series-level label re-sorts within a block", async () => {
    const got = await series([["=", "__name__", "up"], ["=", "region", "eu"], ["=", "replica", "a"]], { withoutReplicaLabels: ["instance"] });
    // Without "instance", the 20 series collapse into two (job=even, job=odd), each with 10 series' chunks.
    expect(got.series.map((s) => fmt(s.labels))).toEqual([
      '{__name__="up", job="even", region="eu", replica="a"}',
      '{__name__="up", job="odd", region="eu", replica="a"}',
    ]);
    expect(got.series[0]!.chunks.length).toBe(10 * blocks.euA!.meta.stats.numChunks! / 20);
  });

  it("merges the same series from overlapping blocks of one stream", async () => {
    const bucket = createMemoryBucket();
    const all = makeSeries(3, T0);
    const first = all.map((s) => ({ labels: s.labels, t: s.t.subarray(0, 300), v: s.v.subarray(0, 300) }));
    const second = all.map((s) => ({ labels: s.labels, t: s.t.subarray(200), v: s.v.subarray(200) }));
    await uploadWrittenBlock(bucket, block(first, T0, { region: "x" }));
    await uploadWrittenBlock(bucket, block(second, T0, { region: "x" }));
    const { store: s2 } = newStore(bucket);
    await s2.sync();
    const got = await collectSeries(s2.storeApi.series(seriesRequest([["=", "__name__", "up"]], T0, T0 + H2), signal()));
    expect(got.series.length).toBe(3);
    const dec = decodeXorChunksToSeries(wasm, got.series[1]!.chunks.map((c) => c.data));
    expect(Array.from(dec.t)).toEqual(Array.from(all[1]!.t));
    expect(Array.from(dec.v)).toEqual(Array.from(all[1]!.v));
    for (let i = 1; i < got.series[1]!.chunks.length; i++) expect(got.series[1]!.chunks[i]!.minTime).toBeGreaterThanOrEqual(got.series[1]!.chunks[i - 1]!.minTime);
  });

  it("shards series by the hash of their labels", async () => {
    const parts = await Promise.all([0, 1, 2].map((i) => series([["=", "__name__", "up"]], { shardInfo: create(ShardInfoSchema, { shardIndex: BigInt(i), totalShards: 3n, by: false, labels: [] }) })));
    const union = parts.flatMap((p) => p.series.map((s) => fmt(s.labels))).sort();
    expect(union).toEqual((await series([["=", "__name__", "up"]])).series.map((s) => fmt(s.labels)).sort());
    expect(parts.every((p) => p.series.length > 0 && p.series.length < 45)).toBe(true);
  });

  it("advertises one label set per external label set in Info", async () => {
    const info = await store.storeApi.info();
    expect(info.labelSets.map((s) => fmt(s.labels))).toEqual(['{region="eu", replica="a"}', '{region="eu", replica="b"}', '{region="us", replica="a"}']);
    expect(info.store!.minTime).toBe(BigInt(T0));
    expect(info.store!.maxTime).toBe(BigInt(T0 + 2 * H2));
    expect(info.store!.tsdbInfos.length).toBe(3);
  });

  it("lists external label names and values", async () => {
    const names = await store.storeApi.labelNames(create((await import("../src/gen/store/storepb/rpc_pb.ts")).LabelNamesRequestSchema, {}), signal());
    expect(names.names).toEqual(["__name__", "instance", "job", "region", "replica"]);
    const values = await store.storeApi.labelValues(create((await import("../src/gen/store/storepb/rpc_pb.ts")).LabelValuesRequestSchema, { label: "region" }), signal());
    expect(values.values).toEqual(["eu", "us"]);
  });
});

describe("store gateway: limits", () => {
  it("fails with ResourceExhausted naming the series or samples limit", async () => {
    const bucket = createMemoryBucket();
    await uploadWrittenBlock(bucket, block(makeSeries(30, T0), T0, { r: "1" }));
    const { store, metrics } = newStore(bucket, { seriesLimit: 10 });
    await store.sync();
    const err = await collectSeries(store.storeApi.series(seriesRequest([["=", "__name__", "up"]], T0, T0 + H2), signal())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).message).toMatch(/series limit.*--store.limits.request-series/);
    expect(counter(metrics, "thanos_bucket_store_queries_dropped_total")).toBe(1);
    // Under the limit it works.
    expect((await collectSeries(store.storeApi.series(seriesRequest([["=", "instance", "i-001"]], T0, T0 + H2), signal()))).series.length).toBe(1);

    const { store: s2 } = newStore(bucket, { samplesLimit: 1000 });
    await s2.sync();
    const err2 = await collectSeries(s2.storeApi.series(seriesRequest([["=", "job", "odd"]], T0, T0 + H2), signal())).catch((e: unknown) => e);
    expect((err2 as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err2 as ConnectError).message).toMatch(/samples limit.*--store.limits.request-samples/);
    // 480 samples per series: two series fit.
    expect((await collectSeries(s2.storeApi.series(seriesRequest([["=~", "instance", "i-00[12]"]], T0, T0 + H2), signal()))).series.length).toBe(2);
  });
});

describe("store gateway: block sync", () => {
  it("ignores partial uploads and deletion-marked blocks, picks up new blocks, drops deleted ones", async () => {
    const bucket = createMemoryBucket();
    const a = block(makeSeries(2, T0), T0, { r: "1" });
    const b = block(makeSeries(3, T0 + H2), T0 + H2, { r: "1" });
    const c = block(makeSeries(4, T0 + 2 * H2), T0 + 2 * H2, { r: "1" });
    await uploadWrittenBlock(bucket, a);
    await uploadWrittenBlock(bucket, b, { skipMeta: true }); // half-uploaded
    await bucket.upload("not-a-block/file", new Uint8Array([1]));
    const { store, metrics } = newStore(bucket);
    let r = await store.sync();
    expect(store.blockIds()).toEqual([a.ulid]);
    expect(r.partial).toBe(1);
    const count = async () => (await collectSeries(store.storeApi.series(seriesRequest([["=", "__name__", "up"]], 0, T0 + 10 * H2), signal()))).series.length;
    expect(await count()).toBe(2);

    await bucket.upload(`${b.ulid}/meta.json`, b.files.get("meta.json")!);
    await uploadWrittenBlock(bucket, c);
    await bucket.upload(`${c.ulid}/deletion-mark.json`, new TextEncoder().encode(JSON.stringify({ id: c.ulid, version: 1, deletion_time: 1 })));
    r = await store.sync();
    expect(r.loaded).toEqual([b.ulid]);
    expect(r.markedForDeletion).toBe(1);
    expect(store.blockIds()).toEqual([a.ulid, b.ulid]);
    expect(await count()).toBe(3);

    // Deleting a block the Thanos way: meta.json first.
    await bucket.delete(`${a.ulid}/meta.json`);
    r = await store.sync();
    expect(r.dropped).toEqual([a.ulid]);
    expect(store.blockIds()).toEqual([b.ulid]);
    expect(counter(metrics, "thanos_bucket_store_blocks_loaded")).toBe(1);
  });
});

describe("store gateway: compacted blocks", () => {
  it("serves a compacted block instead of the source blocks it covers (Thanos' DeduplicateFilter)", async () => {
    const bucket = createMemoryBucket();
    const a = writeBlock(makeSeries(2, T0), { minTime: T0, maxTime: T0 + H2, thanos: { labels: { r: "1" } } });
    const b = writeBlock(makeSeries(2, T0 + H2), { minTime: T0 + H2, maxTime: T0 + 2 * H2, thanos: { labels: { r: "1" } } });
    const both = makeSeries(2, T0).map((s, i) => {
      const next = makeSeries(2, T0 + H2)[i]!;
      return { labels: s.labels, t: Float64Array.from([...s.t, ...next.t]), v: Float64Array.from([...s.v, ...next.v]) };
    });
    const c = writeBlock(both, { minTime: T0, maxTime: T0 + 2 * H2, compaction: { level: 2, sources: [a.ulid, b.ulid] }, thanos: { labels: { r: "1" } } });
    // Same sources but another stream: not a duplicate.
    const other = writeBlock(makeSeries(2, T0), { minTime: T0, maxTime: T0 + H2, compaction: { sources: [a.ulid] }, thanos: { labels: { r: "2" } } });
    for (const x of [a, b, c, other]) await uploadWrittenBlock(bucket, x);
    const { store } = newStore(bucket);
    const r = await store.sync();
    expect(r.duplicates).toBe(2);
    expect(store.blockIds().sort()).toEqual([c.ulid, other.ulid].sort());
    const got = await collectSeries(store.storeApi.series(seriesRequest([["=", "r", "1"]], T0, T0 + 2 * H2), signal()));
    expect(got.queriedBlocks).toEqual([c.ulid]);
    const dec = decodeXorChunksToSeries(await loadWasm(), got.series[0]!.chunks.map((ch) => ch.data));
    expect(dec.t.length).toBe(2 * H2 / 15000);
  });
});

describe("store gateway: corrupted blocks", () => {
  it("answers from the healthy blocks and warns (or fails under ABORT) naming the broken block", async () => {
    const bucket = createMemoryBucket();
    const good = block(makeSeries(3, T0), T0, { r: "good" });
    const badChunk = block(makeSeries(3, T0 + H2), T0 + H2, { r: "badchunk" });
    const badIndex = block(makeSeries(3, T0 + 2 * H2), T0 + 2 * H2, { r: "badindex" });
    await uploadWrittenBlock(bucket, good);
    // Flip bytes inside chunk data (past the 8-byte segment header): CRC must catch it.
    const seg = new Uint8Array(badChunk.files.get("chunks/000001")!);
    for (let i = 40; i < 60; i++) seg[i] = seg[i]! ^ 0xff;
    badChunk.files.set("chunks/000001", seg);
    await uploadWrittenBlock(bucket, badChunk);
    // Break the index TOC so the index-header cannot be built.
    const idx = new Uint8Array(badIndex.files.get("index")!);
    idx.fill(0xab, idx.length - 52);
    badIndex.files.set("index", idx);
    await uploadWrittenBlock(bucket, badIndex);

    const { store } = newStore(bucket);
    const r = await store.sync();
    expect(r.failed.map((f) => f.id)).toEqual([badIndex.ulid]);
    expect(store.blockIds().sort()).toEqual([good.ulid, badChunk.ulid].sort());

    const got = await collectSeries(store.storeApi.series(seriesRequest([["=", "__name__", "up"]], T0, T0 + 3 * H2), signal()));
    expect(got.series.filter((s) => s.labels.some((l) => l.value === "good")).length).toBe(3);
    expect(got.warnings.some((w) => w.includes(badChunk.ulid) && /CRC|corrupt/i.test(w))).toBe(true);
    expect(got.warnings.some((w) => w.includes(badIndex.ulid))).toBe(true);
    // No wrong data: every chunk that was sent decodes.
    const wasm = await loadWasm();
    for (const s of got.series) decodeXorChunksToSeries(wasm, s.chunks.map((c) => c.data));

    const abort = await collectSeries(
      store.storeApi.series(seriesRequest([["=", "r", "badchunk"]], T0, T0 + 3 * H2, { partialResponseStrategy: PartialResponseStrategy.ABORT }), signal()),
    ).catch((e: unknown) => e);
    expect(abort).toBeInstanceOf(ConnectError);
    expect((abort as Error).message).toContain(badChunk.ulid);

    // Only the healthy block queried: no warnings.
    const healthy = await collectSeries(store.storeApi.series(seriesRequest([["=", "r", "good"]], T0, T0 + H2 - 1), signal()));
    expect(healthy.warnings).toEqual([]);
    expect(healthy.series.length).toBe(3);
  });
});

describe("store gateway: index-header cache on disk", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "meridian-store-cache-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("builds index-headers once and reuses them after a restart without reading the index header sections again", async () => {
    const bucket = createMemoryBucket();
    const b = block(makeSeries(50, T0), T0, { r: "1" });
    await uploadWrittenBlock(bucket, b);
    const headerCache = createFilesystemBucket(dir);
    const first = newStore(bucket, { headerCache });
    await first.store.sync();
    expect(await headerCache.exists(`${b.ulid}/index-header`)).toBe(true);
    const built = counter(first.metrics, 'thanos_bucket_store_bytes_fetched_total{data_type="index-header"}');
    expect(built).toBeGreaterThan(0);

    const second = newStore(bucket, { headerCache });
    await second.store.sync();
    expect(counter(second.metrics, 'thanos_bucket_store_bytes_fetched_total{data_type="index-header"}')).toBe(0);
    const req = seriesRequest([["=", "instance", "i-007"]], T0, T0 + H2);
    const got = await collectSeries(second.store.storeApi.series(req, signal()));
    expect(got.series.length).toBe(1);
    const indexBytes = counter(second.metrics, 'thanos_bucket_store_bytes_fetched_total{data_type="index"}');
    expect(indexBytes).toBeGreaterThan(0);
    expect(indexBytes).toBeLessThan(b.files.get("index")!.length);
    // Second identical query: postings and series come from the index cache.
    await collectSeries(second.store.storeApi.series(req, signal()));
    expect(counter(second.metrics, 'thanos_bucket_store_bytes_fetched_total{data_type="index"}')).toBe(indexBytes);
    expect(counter(second.metrics, "thanos_store_index_cache_hits_total")).toBeGreaterThan(0);

    // A corrupt cached header is rebuilt instead of failing the block.
    await headerCache.upload(`${b.ulid}/index-header`, new Uint8Array(200).fill(7));
    const third = newStore(bucket, { headerCache });
    const r = await third.store.sync();
    expect(r.total).toBe(1);
    expect((await collectSeries(third.store.storeApi.series(req, signal()))).series.length).toBe(1);
  });
});

/** Encodes a tombstones file: magic, version 1, (uvarint ref, varint mint, varint maxt)*, CRC32C. */
function tombstonesFile(records: { ref: number; mint: number; maxt: number }[]): Uint8Array {
  const body: number[] = [];
  const uvarint = (v: bigint) => {
    while (v >= 0x80n) {
      body.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    body.push(Number(v));
  };
  const varint = (v: number) => uvarint(v < 0 ? (-BigInt(v) << 1n) - 1n : BigInt(v) << 1n);
  for (const r of records) {
    uvarint(BigInt(r.ref));
    varint(r.mint);
    varint(r.maxt);
  }
  const recs = Uint8Array.from(body);
  const out = new Uint8Array(5 + recs.length + 4);
  new DataView(out.buffer).setUint32(0, 0x0130ba30);
  out[4] = 1;
  out.set(recs, 5);
  new DataView(out.buffer).setUint32(5 + recs.length, crc32c(recs));
  return out;
}

describe("store gateway: tombstones", () => {
  it("drops fully deleted chunks and series and cuts partially deleted chunks", async () => {
    const wasm = await loadWasm();
    const data = makeSeries(4, T0);
    const b = block(data, T0, { r: "1" });
    const opened = await openBlock((rel) => (b.files.has(rel) ? createMemoryReader(rel, b.files.get(rel)!) : null));
    const ref = async (instance: string) => (await opened.index.postings("instance", [instance]))[0]!;
    const cutFrom = T0 + 30 * 60_000;
    const cutTo = T0 + 45 * 60_000;
    b.files.set("tombstones", tombstonesFile([
      { ref: await ref("i-001"), mint: cutFrom, maxt: cutTo },
      { ref: await ref("i-002"), mint: 0, maxt: T0 + 10 * H2 },
    ]));
    const bucket = createMemoryBucket();
    await uploadWrittenBlock(bucket, b);
    const { store } = newStore(bucket, { wasm });
    await store.sync();
    const got = await collectSeries(store.storeApi.series(seriesRequest([["=", "__name__", "up"]], T0, T0 + H2), signal()));
    expect(got.series.map((s) => s.labels.find((l) => l.name === "instance")!.value)).toEqual(["i-000", "i-001", "i-003"]);
    const cut = got.series[1]!;
    const dec = decodeXorChunksToSeries(wasm, cut.chunks.map((c) => c.data));
    const src = data.find((s) => s.labels.some((l) => l.value === "i-001"))!;
    const keep = Array.from(src.t).map((t, i) => [t, src.v[i]!] as const).filter(([t]) => t < cutFrom || t > cutTo);
    expect(Array.from(dec.t)).toEqual(keep.map(([t]) => t));
    expect(Array.from(dec.v)).toEqual(keep.map(([, v]) => v));
    for (const c of cut.chunks) {
      const d = decodeXorChunksToSeries(wasm, [c.data]);
      expect([c.minTime, c.maxTime]).toEqual([d.t[0], d.t[d.t.length - 1]]);
    }
    const intact = decodeXorChunksToSeries(wasm, got.series[0]!.chunks.map((c) => c.data));
    expect(intact.t.length).toBe(H2 / 15000);
  });
});
