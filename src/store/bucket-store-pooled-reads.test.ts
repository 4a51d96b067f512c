/**
 * The store gateway's chunk reads in pooled memory (chunk-read-pool.ts): over a filesystem bucket
 * (which reads into the pool), concurrent Series calls, calls abandoned after their first frame
 * (reads of prefetched batches still running) and calls that fail on a corrupt chunk must all
 * leave every other call's bytes intact. The reference is the same blocks served from a memory
 * bucket (no getRangeInto, so no pooling).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Buffer } from "node:buffer";
import { collectSeries, fmt, seriesRequest, uploadWrittenBlock, type CollectedSeries, type M } from "../../test/helpers/s3rver-store.ts";
import { labelsFromRecord } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";
import { createMemoryBucket } from "../objstore/memory-bucket.ts";
import { createFilesystemBucket } from "../runtime/node/filesystem-bucket.ts";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import { createMetricsRegistry } from "../server/metrics.ts";
import { writeBlock, type WrittenBlock } from "../tsdb/block-writer.ts";
import { createBucketStore, type BucketStore } from "./bucket-store.ts";
import { chunkReadPoolBytes } from "./chunk-read-pool.ts";

const T0 = 1_750_000_000_000;

/** One comparable line per series (labels, chunk times, hashes and bytes): cheap to compare. */
function digest(c: CollectedSeries): string[] {
  return c.series.map((s) => `${fmt(s.labels)} ${s.chunks.map((k) => `${k.minTime}:${k.maxTime}:${k.hash}:${Buffer.from(k.data).toString("base64")}`).join(" ")}`);
}
const H2 = 2 * 3600_000;

function makeSeries(n: number, start: number, seed: number): FloatSeries[] {
  const out: FloatSeries[] = [];
  for (let k = 0; k < n; k++) {
    const count = H2 / 15000;
    const t = new Float64Array(count);
    const v = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      t[i] = start + i * 15000;
      v[i] = ((k * 7919 + i * 104729 + seed) % 1000) / 7;
    }
    out.push({ labels: labelsFromRecord({ __name__: "m", instance: `i-${String(k).padStart(4, "0")}`, job: `j${k % 3}` }), t, v });
  }
  return out;
}

describe("store gateway chunk reads in pooled memory", () => {
  let dir: string;
  let pooled: BucketStore;
  let reference: BucketStore;
  let blocks: WrittenBlock[];
  const all: M[] = [["=", "__name__", "m"]];
  const req = (ms: M[]) => seriesRequest(ms, T0, T0 + 3 * H2, { responseBatchSize: 16n });

  beforeAll(async () => {
    const wasm = await loadWasm();
    dir = mkdtempSync(join(tmpdir(), "meridian-pooled-reads-"));
    const fsBucket = createFilesystemBucket(join(dir, "bucket"));
    const memBucket = createMemoryBucket();
    blocks = [0, 1, 2].map((b) => writeBlock(makeSeries(150, T0 + b * H2, b), { minTime: T0 + b * H2, maxTime: T0 + (b + 1) * H2, thanos: { labels: { r: "a" }, source: "sidecar" } }));
    for (const b of blocks) {
      await uploadWrittenBlock(fsBucket, b);
      await uploadWrittenBlock(memBucket, b);
    }
    const mk = (bucket: typeof fsBucket) => createBucketStore({ bucket, metrics: createMetricsRegistry(), batchSize: 40, wasm });
    pooled = mk(fsBucket);
    reference = mk(memBucket);
    await pooled.sync();
    await reference.sync();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves the same bytes as unpooled reads under concurrent, abandoned and repeated calls", async () => {
    const queries: M[][] = [all, [["=", "job", "j1"], ["=", "__name__", "m"]], [["=~", "instance", "i-00[0-4].*"], ["=", "__name__", "m"]]];
    const want = await Promise.all(queries.map((q) => collectSeries(reference.storeApi.series(req(q), new AbortController().signal))));
    expect(want[0]!.series.length).toBe(150);
    for (let round = 0; round < 2; round++) {
      const abandoned = Array.from({ length: 3 }, async () => {
        // Take one frame and stop: the merge has prefetched batches whose reads are still running.
        for await (const f of pooled.storeApi.series(req(all), new AbortController().signal)) if (f.result.case === "batch") break;
      });
      const got = await Promise.all([...queries, ...queries].map((q) => collectSeries(pooled.storeApi.series(req(q), new AbortController().signal))));
      await Promise.all(abandoned);
      got.forEach((g, i) => expect(digest(g)).toEqual(digest(want[i % queries.length]!)));
    }
    expect(chunkReadPoolBytes()).toBeGreaterThan(0); // the reads did go through the pool
  });

  it("still reports a corrupt chunk with file and offset, and serves intact data afterwards", async () => {
    const b = blocks[1]!;
    const seg = join(dir, "bucket", b.ulid, "chunks", "000001");
    const orig = await readFile(seg);
    const bad = Uint8Array.from(orig);
    bad[Math.floor(bad.length / 2)]! ^= 0xff;
    await writeFile(seg, bad);
    try {
      const store = createBucketStore({ bucket: createFilesystemBucket(join(dir, "bucket")), metrics: createMetricsRegistry(), batchSize: 40 });
      await store.sync();
      await expect(collectSeries(store.storeApi.series(req(all), new AbortController().signal))).resolves.toMatchObject({
        warnings: [expect.stringMatching(new RegExp(`${b.ulid}/chunks/000001.*(CRC32C mismatch|corrupt).*offset \\d+`))],
      });
    } finally {
      await writeFile(seg, orig);
    }
    const want = await collectSeries(reference.storeApi.series(req(all), new AbortController().signal));
    expect(digest(await collectSeries(pooled.storeApi.series(req(all), new AbortController().signal)))).toEqual(digest(want));
  });
});
