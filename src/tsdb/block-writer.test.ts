import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { labelsFromRecord } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";
import { chunkBoundaries } from "./block-writer-chunking.ts";
import { generateUlid, ulidTime } from "./block-writer-ulid.ts";
import { EMPTY_TOMBSTONES, writeBlock } from "./block-writer.ts";
import { createChunkWriter } from "./chunk-writer.ts";
import { crc32c } from "./crc32c.ts";
import { parseBlockMeta } from "./meta.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function fixtureRoot(): string | undefined {
  for (const dir of [join(repoRoot, "test", "fixtures", "blocks"), join(repoRoot, "..", "shared", "fixtures", "blocks")]) {
    if (existsSync(join(dir, "promtool-openmetrics-2.42", "expected.json"))) return dir;
  }
  return undefined;
}

interface ExpectedBlock {
  ulid: string;
  series: { labels: Record<string, string>; chunks: { samples: [number, string][] }[] }[];
}

/** The fixture's series with exact value bits. */
function seriesOf(block: ExpectedBlock): FloatSeries[] {
  return block.series.map((s) => {
    const samples = s.chunks.flatMap((c) => c.samples);
    const t = new Float64Array(samples.length);
    const words = new Uint32Array(samples.length * 2);
    samples.forEach(([ts, hex], i) => {
      t[i] = ts;
      words[2 * i + 1] = parseInt(hex.slice(0, 8), 16);
      words[2 * i] = parseInt(hex.slice(8), 16);
    });
    return { labels: labelsFromRecord(s.labels), t, v: new Float64Array(words.buffer) };
  });
}

function hex(b: Uint8Array | undefined): string {
  return Buffer.from(b ?? new Uint8Array()).toString("hex");
}

describe("block writer vs promtool 2.42", () => {
  const root = fixtureRoot();
  for (const group of ["promtool-openmetrics-2.42", "promtool-openmetrics-edgecases-2.42"]) {
    it.skipIf(root === undefined)(`writes chunk and index files identical to promtool's (${group})`, () => {
      const dir = join(root!, group);
      const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as { blocks: ExpectedBlock[] };
      for (const block of expected.blocks) {
        const theirMeta = parseBlockMeta(readFileSync(join(dir, block.ulid, "meta.json"), "utf8"), block.ulid);
        const written = writeBlock(seriesOf(block), { ulid: block.ulid });
        expect(written.meta.minTime).toBe(theirMeta.minTime);
        expect(written.meta.maxTime).toBe(theirMeta.maxTime);
        expect(written.meta.stats).toEqual(theirMeta.stats);
        expect(written.meta.compaction).toEqual(theirMeta.compaction);
        expect(new TextDecoder().decode(written.files.get("meta.json"))).toBe(readFileSync(join(dir, block.ulid, "meta.json"), "utf8"));
        expect(hex(written.files.get("chunks/000001"))).toBe(hex(readFileSync(join(dir, block.ulid, "chunks", "000001"))));
        expect(hex(written.files.get("index"))).toBe(hex(readFileSync(join(dir, block.ulid, "index"))));
        expect(hex(written.files.get("tombstones"))).toBe(hex(readFileSync(join(dir, block.ulid, "tombstones"))));
        expect([...written.files.keys()].sort()).toEqual(["chunks/000001", "index", "meta.json", "tombstones"]);
      }
    });
  }
});

describe("block writer vs a running Prometheus 2.42 server (head cut with 1m chunk range)", () => {
  const root = fixtureRoot();
  it.skipIf(root === undefined)("writes chunk and index files identical to the server's blocks, stale markers included", () => {
    const dir = join(root!, "prometheus-2.42-scraped");
    const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as { blocks: ExpectedBlock[] };
    for (const block of expected.blocks) {
      const theirs = parseBlockMeta(readFileSync(join(dir, block.ulid, "meta.json"), "utf8"), block.ulid);
      const written = writeBlock(seriesOf(block), {
        ulid: block.ulid,
        minTime: theirs.minTime,
        maxTime: theirs.maxTime,
        chunking: { chunkRange: 60_000 },
      });
      expect(written.meta.stats).toEqual(theirs.stats);
      expect(hex(written.files.get("chunks/000001"))).toBe(hex(readFileSync(join(dir, block.ulid, "chunks", "000001"))));
      expect(hex(written.files.get("index"))).toBe(hex(readFileSync(join(dir, block.ulid, "index"))));
    }
  });
});

describe("block writer", () => {
  const mk = (labels: Record<string, string>, t: number[], v: number[]): FloatSeries => ({
    labels: labelsFromRecord(labels),
    t: Float64Array.from(t),
    v: Float64Array.from(v),
  });

  it("derives the range, sorts array input and adds a Thanos section", () => {
    const b = writeBlock(
      [mk({ __name__: "b" }, [10, 20], [1, 2]), mk({ __name__: "a", x: "1" }, [5], [3])],
      { thanos: { labels: { cluster: "eu", replica: "0" }, source: "test" } },
    );
    expect(b.meta.minTime).toBe(5);
    expect(b.meta.maxTime).toBe(21);
    expect(b.meta.stats).toEqual({ numSamples: 3, numSeries: 2, numChunks: 2 });
    const meta = parseBlockMeta(new TextDecoder().decode(b.files.get("meta.json")), "meta.json");
    expect(meta.thanos?.labels).toEqual({ cluster: "eu", replica: "0" });
    expect(meta.thanos?.files?.map((f) => f.rel_path)).toEqual(["chunks/000001", "index", "meta.json"]);
    expect(meta.thanos?.files?.[1]?.size_bytes).toBe(b.files.get("index")!.length);
    expect(b.files.get("tombstones")).toEqual(EMPTY_TOMBSTONES);
  });

  it("rejects unsorted, duplicate and out-of-range input with clear errors", () => {
    expect(() => writeBlock([mk({ __name__: "a" }, [2, 1], [1, 1])])).toThrow(/strictly ascending/);
    expect(() => writeBlock([mk({ __name__: "a" }, [1], [1]), mk({ __name__: "a" }, [2], [1])])).toThrow(/label order without duplicates/);
    expect(() => writeBlock([mk({ __name__: "a" }, [100], [1])], { maxTime: 100 })).toThrow(/maxTime/);
    expect(() => writeBlock([mk({ __name__: "a" }, [1.5], [1])])).toThrow(/integer/);
    expect(() => writeBlock([])).toThrow(/no samples/);
  });

  it("cuts chunks like Prometheus' head: at most 240 samples, never across the chunk range", () => {
    const t = Array.from({ length: 2000 }, (_, i) => 1_700_000_000_000 + i * 15_000);
    const starts = chunkBoundaries(t);
    const range = 4 * 3600 * 1000;
    for (let i = 0; i < starts.length; i++) {
      const from = starts[i]!;
      const to = i + 1 < starts.length ? starts[i + 1]! : t.length;
      expect(to - from).toBeLessThanOrEqual(240);
      expect(Math.floor(t[from]! / range)).toBe(Math.floor(t[to - 1]! / range));
    }
    expect(chunkBoundaries(t, { mode: "fixed" })).toEqual(Array.from({ length: 17 }, (_, i) => i * 120));
    // Samples arriving faster than predicted: cut at 2 × 120.
    const dense = Array.from({ length: 1000 }, (_, i) => (i < 31 ? i * 60_000 : 30 * 60_000 + (i - 30)));
    const ds = chunkBoundaries(dense);
    expect(ds[1]! - ds[0]!).toBe(240);
  });

  it("cuts chunk segments by size like Go's chunks.Writer and keeps CRCs right", () => {
    const w = createChunkWriter({ segmentSize: 100 });
    const data = new Uint8Array(40).fill(7);
    const r1 = w.writeChunks([{ encoding: 1, data }]);
    const r2 = w.writeChunks([{ encoding: 1, data }, { encoding: 1, data }]);
    expect(r1).toEqual([8]);
    // 8 + 46 already used; the next 50-byte estimate does not fit → new segment, and the second chunk too.
    expect(r2).toEqual([2 ** 32 + 8, 2 * 2 ** 32 + 8]);
    const files = w.files();
    expect([...files.keys()]).toEqual(["chunks/000001", "chunks/000002", "chunks/000003"]);
    const seg = files.get("chunks/000001")!;
    expect(hex(seg.subarray(0, 8))).toBe("85bd40dd01000000");
    expect(seg[8]).toBe(40);
    const crc = new DataView(seg.buffer, seg.byteOffset).getUint32(8 + 1 + 1 + 40);
    expect(crc).toBe(crc32c(seg.subarray(9, 9 + 41)));
  });

  it("generates sortable ULIDs", () => {
    const a = generateUlid(1_700_000_000_000);
    expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ulidTime(a)).toBe(1_700_000_000_000);
    expect(generateUlid(1_700_000_000_001) > a).toBe(true);
    expect(generateUlid(0, (b) => b.fill(0xff))).toBe("0000000000ZZZZZZZZZZZZZZZZ");
  });
});

describe("block writer with encoded chunks", () => {
  it("stores pre-encoded chunks byte for byte and counts their samples", async () => {
    const { encodeXorChunk } = await import("./xor-encoder.ts");
    const { createBlockWriter, chunkSampleCount } = await import("./block-writer.ts");
    const c1 = encodeXorChunk([1000, 2000, 3000], [1, 2, 3]);
    const c2 = encodeXorChunk([4000], [4]);
    const w = createBlockWriter({ ulid: "01M892ZX20YVJRGPQ42N93BMS6" });
    w.addSeriesChunks(labelsFromRecord({ __name__: "a" }), [
      { mint: 1000, maxt: 3000, encoding: 1, data: c1 },
      { mint: 4000, maxt: 4000, encoding: 1, data: c2 },
    ]);
    w.addSeries({ labels: labelsFromRecord({ __name__: "b" }), t: Float64Array.from([1000, 2000, 3000, 4000]), v: Float64Array.from([1, 2, 3, 4]) });
    const b = w.finish();
    expect(b.meta.stats).toEqual({ numSamples: 8, numSeries: 2, numChunks: 3 });
    expect(b.meta.minTime).toBe(1000);
    expect(b.meta.maxTime).toBe(4001);
    const seg = b.files.get("chunks/000001")!;
    expect(hex(seg.subarray(8 + 2, 8 + 2 + c1.length))).toBe(hex(c1));
    // Thanos aggregate chunk: count aggregate (XOR, 2 samples) first.
    const count = encodeXorChunk([1, 2], [5, 6]);
    const aggr = new Uint8Array([count.length, 1, ...count, 0, 0, 0, 0]);
    expect(chunkSampleCount(0xff, aggr)).toBe(2);
    expect(chunkSampleCount(0xff, new Uint8Array([0, 0]))).toBe(0);
    expect(() =>
      createBlockWriter().addSeriesChunks(labelsFromRecord({ __name__: "x" }), [
        { mint: 10, maxt: 20, encoding: 1, data: c1 },
        { mint: 20, maxt: 30, encoding: 1, data: c2 },
      ]),
    ).toThrow(/overlaps/);
  });
});
