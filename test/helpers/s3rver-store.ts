/**
 * Helpers for store gateway tests: put blocks (fixture directories or block-writer output) into a
 * bucket the way a shipper does (meta.json last), build Series requests, and collect a Series
 * stream into series, warnings and hints.
 */
import { create } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { SeriesResponseHintsSchema } from "../../src/gen/store/hintspb/hints_pb.ts";
import { SeriesRequestSchema, type SeriesRequest, type SeriesResponse } from "../../src/gen/store/storepb/rpc_pb.ts";
import { compareLabels, labelsFromRecord, type Labels } from "../../src/model/labels.ts";
import { createMatcher, type MatchType } from "../../src/model/matcher.ts";
import { xxhash64 } from "../../src/store/xxhash64.ts";
import type { MeridianWasm } from "../../src/wasm/module.ts";
import { decodeXorChunksToSeries } from "../../src/wasm/xor.ts";
import type { Bucket } from "../../src/objstore/bucket.ts";
import { labelsFromProto, matchersToProto } from "../../src/server/store-api-convert.ts";
import type { WrittenBlock } from "../../src/tsdb/block-writer.ts";

/** Fixture block groups (copied into the repo, or the shared originals). */
export const FIXTURE_BLOCKS = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "fixtures", "blocks");

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, `${prefix}${e}/`));
    else out.push(prefix + e);
  }
  return out;
}

/**
 * Uploads a block directory under its ULID, meta.json last. `thanosLabels` adds a Thanos section
 * with those external labels (as the sidecar's shipper writes it).
 */
export async function uploadBlockDir(bucket: Bucket, dir: string, thanosLabels?: Record<string, string>): Promise<string> {
  const ulid = dir.split("/").filter(Boolean).pop()!;
  const files = listFiles(dir).filter((f) => f !== "meta.json");
  for (const f of files) await bucket.upload(`${ulid}/${f}`, new Uint8Array(readFileSync(join(dir, f))));
  let meta = readFileSync(join(dir, "meta.json"), "utf8");
  if (thanosLabels) {
    const m = JSON.parse(meta) as Record<string, unknown>;
    m.thanos = { labels: thanosLabels, downsample: { resolution: 0 }, source: "test" };
    meta = JSON.stringify(m);
  }
  await bucket.upload(`${ulid}/meta.json`, new TextEncoder().encode(meta));
  return ulid;
}

/** Uploads every block of a fixture group; returns their ULIDs. */
export async function uploadFixtureGroup(bucket: Bucket, group: string, thanosLabels?: Record<string, string>): Promise<string[]> {
  const root = join(FIXTURE_BLOCKS, group);
  const ids: string[] = [];
  for (const e of readdirSync(root).sort()) {
    if (statSync(join(root, e)).isDirectory()) ids.push(await uploadBlockDir(bucket, join(root, e), thanosLabels));
  }
  return ids;
}

/** Uploads a block-writer block, meta.json last. `skipMeta` leaves it partial. */
export async function uploadWrittenBlock(bucket: Bucket, block: WrittenBlock, opts: { skipMeta?: boolean } = {}): Promise<void> {
  for (const [rel, bytes] of block.files) if (rel !== "meta.json") await bucket.upload(`${block.ulid}/${rel}`, bytes);
  if (!opts.skipMeta) await bucket.upload(`${block.ulid}/meta.json`, block.files.get("meta.json")!);
}

/** `[type, name, value]` matcher shorthand. */
export type M = [MatchType, string, string];

/** Builds a SeriesRequest. */
export function seriesRequest(matchers: M[], mint: number, maxt: number, extra: Partial<Omit<SeriesRequest, "matchers" | "$typeName">> = {}): SeriesRequest {
  return create(SeriesRequestSchema, {
    minTime: BigInt(mint),
    maxTime: BigInt(maxt),
    // Not compiled here, so tests can send matchers the server must reject.
    matchers: matchersToProto(matchers.map(([type, name, value]) => ({ type, name, value }))),
    ...extra,
  });
}

/** A collected Series stream. */
export interface CollectedSeries {
  series: { labels: Labels; chunks: { minTime: number; maxTime: number; type: number; data: Uint8Array; hash: bigint }[] }[];
  warnings: string[];
  /** Queried block IDs from the final hints frame (undefined when none was sent). */
  queriedBlocks?: string[];
  /** Frame kinds in order, e.g. "series", "batch:64", "warning", "hints". */
  frames: string[];
}

/** Collects a Series stream. */
export async function collectSeries(stream: AsyncIterable<SeriesResponse>): Promise<CollectedSeries> {
  const out: CollectedSeries = { series: [], warnings: [], frames: [] };
  const add = (s: { labels: { name: string; value: string }[]; chunks: { minTime: bigint; maxTime: bigint; raw?: { type: number; data: Uint8Array; hash: bigint } }[] }) => {
    out.series.push({
      labels: labelsFromProto(s.labels.map((l) => ({ $typeName: "thanos.Label" as const, name: l.name, value: l.value }))),
      chunks: s.chunks.map((c) => ({ minTime: Number(c.minTime), maxTime: Number(c.maxTime), type: c.raw!.type, data: c.raw!.data, hash: c.raw!.hash })),
    });
  };
  for await (const f of stream) {
    switch (f.result.case) {
      case "series":
        out.frames.push("series");
        add(f.result.value);
        break;
      case "batch":
        out.frames.push(`batch:${f.result.value.series.length}`);
        for (const s of f.result.value.series) add(s);
        break;
      case "warning":
        out.frames.push("warning");
        out.warnings.push(f.result.value);
        break;
      case "hints": {
        out.frames.push("hints");
        const h = anyUnpack(f.result.value, SeriesResponseHintsSchema);
        out.queriedBlocks = h?.queriedBlocks.map((b) => b.id) ?? [];
        break;
      }
    }
  }
  return out;
}

/** `{a="1", b="2"}` for assertions. */
export function fmt(labels: Labels): string {
  return `{${labels.map((l) => `${l.name}="${l.value}"`).join(", ")}}`;
}

/** An expected chunk from expected.json. */
export interface ExpChunk { mint: number; maxt: number; samples: [number, string][] }
/** An expected series (chunks of all blocks). */
export interface ExpSeries { labels: Labels; chunks: ExpChunk[] }

/** Expected series of a fixture group, merged across its blocks, sorted by labels. */
export function loadExpected(group: string): ExpSeries[] {
  const json = JSON.parse(readFileSync(join(FIXTURE_BLOCKS, group, "expected.json"), "utf8")) as {
    blocks: { series: { labels: Record<string, string>; chunks: ExpChunk[] }[] }[];
  };
  const by = new Map<string, ExpSeries>();
  for (const b of json.blocks) {
    for (const s of b.series) {
      const labels = labelsFromRecord(s.labels);
      const key = fmt(labels);
      let e = by.get(key);
      if (!e) by.set(key, (e = { labels, chunks: [] }));
      for (const c of s.chunks) e.chunks.push({ mint: c.mint, maxt: c.maxt, samples: c.samples });
    }
  }
  const out = [...by.values()].sort((a, b) => compareLabels(a.labels, b.labels));
  for (const s of out) s.chunks.sort((a, b) => a.mint - b.mint);
  return out;
}

/** float64 bits as 16 hex digits. */
export function bitsHex(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0).toString(16).padStart(16, "0");
}

/** What a correct store returns for matchers and [mint, maxt]: series with chunks overlapping the range. */
export function expectedFor(all: ExpSeries[], matchers: M[], mint: number, maxt: number): ExpSeries[] {
  const ms = matchers.map(([t, n, v]) => createMatcher(t, n, v));
  return all
    .filter((s) => ms.every((m) => m.matches(s.labels.find((l) => l.name === m.name)?.value ?? "")))
    .map((s) => ({ labels: s.labels, chunks: s.chunks.filter((c) => c.maxt >= mint && c.mint <= maxt) }))
    .filter((s) => s.chunks.length > 0);
}

/** Asserts a Series result equals the expected series: labels, chunk ranges, hashes, sample bits. */
export function assertMatches(wasm: MeridianWasm, got: CollectedSeries, want: ExpSeries[]): void {
  expect(got.series.map((s) => fmt(s.labels))).toEqual(want.map((s) => fmt(s.labels)));
  got.series.forEach((s, i) => {
    const w = want[i]!;
    expect(s.chunks.map((c) => [c.minTime, c.maxTime])).toEqual(w.chunks.map((c) => [c.mint, c.maxt]));
    for (const c of s.chunks) {
      expect(c.type).toBe(0); // XOR
      expect(c.hash).toBe(xxhash64(c.data));
    }
    const dec = decodeXorChunksToSeries(wasm, s.chunks.map((c) => c.data));
    const samples = w.chunks.flatMap((c) => c.samples);
    expect(dec.t.length).toBe(samples.length);
    expect(Array.from(dec.t)).toEqual(samples.map(([t]) => t));
    expect(Array.from(dec.v, bitsHex)).toEqual(samples.map(([, h]) => h));
  });
}

