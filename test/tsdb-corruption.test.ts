/**
 * Corrupted and truncated blocks: every flipped byte either leaves the answer unchanged (bytes the
 * reader never uses, such as padding and the deprecated label indices) or raises a
 * CorruptionError naming the file, the section and the offset. Never a wrong answer, never a
 * TypeError/RangeError. Also: meta.json validation and the histogram-encoding message.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { createMemoryReader } from "../src/tsdb/byte-range-reader.ts";
import { openBlock, readSeries, type Block } from "../src/tsdb/block.ts";
import { decodeBlockSeries } from "../src/tsdb/decode.ts";
import { CorruptionError, UnsupportedEncodingError, assertXorEncoding, ChunkEncoding } from "../src/tsdb/errors.ts";
import { openIndexReader } from "../src/tsdb/index-reader.ts";
import { openChunkReader } from "../src/tsdb/chunk-reader.ts";
import { BlockMetaError, parseBlockMeta, serializeBlockMeta } from "../src/tsdb/meta.ts";
import { parseTombstones, applyTombstones, isFullyDeleted } from "../src/tsdb/tombstones.ts";
import { crc32c } from "../src/tsdb/crc32c.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { isStaleMarker } from "../src/model/series.ts";
import type { MeridianWasm } from "../src/wasm/module.ts";

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = existsSync(join(here, "fixtures/blocks/prometheus-2.42-scraped"))
  ? join(here, "fixtures/blocks")
  : join(here, "../../shared/fixtures/blocks");
const SMALL = join(FIXTURES, "promtool-openmetrics-2.42", "01M892Y0R72HQFB16QWRVWC76F");
const SCRAPED = join(FIXTURES, "prometheus-2.42-scraped", "01M8935ZA2E02N370CW2A8WPCX");

type Files = Record<string, Uint8Array>;

function loadFiles(dir: string): Files {
  const out: Files = {};
  for (const rel of ["meta.json", "index", "tombstones", "chunks/000001"]) out[rel] = new Uint8Array(readFileSync(join(dir, rel)));
  return out;
}

function openFiles(files: Files): Promise<Block> {
  return openBlock((rel) => (files[rel] ? createMemoryReader(`blk/${rel}`, files[rel]) : null));
}

/** Everything the reader can say about a block, as one comparable value. */
async function readEverything(files: Files, wasm: MeridianWasm): Promise<unknown> {
  const block = await openFiles(files);
  const names = await block.index.labelNames();
  const values = await Promise.all(names.map((n) => block.index.labelValues(n)));
  const series = await readSeries(block, [], -Infinity, Infinity);
  const decoded = decodeBlockSeries(wasm, block.name, series);
  return {
    names,
    values,
    series: series.map((s, i) => ({
      labels: s.labels,
      chunks: s.chunks.map((c) => [c.ref, c.mint, c.maxt, c.encoding, [...c.data]]),
      t: [...decoded[i]!.t],
      v: [...new BigUint64Array(decoded[i]!.v.buffer, decoded[i]!.v.byteOffset, decoded[i]!.v.length)].map(String),
    })),
    symbols: await block.index.header.symbols.all(),
  };
}

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

describe("every flipped byte of a real block", () => {
  for (const rel of ["index", "chunks/000001", "tombstones"]) {
    it(`${rel}: unchanged answer or CorruptionError naming file, section and offset`, async () => {
      const files = loadFiles(SMALL);
      const want = await readEverything(files, wasm);
      const original = files[rel]!;
      let corrupt = 0;
      let unchanged = 0;
      for (let pos = 0; pos < original.length; pos++) {
        const bad = original.slice();
        bad[pos] ^= 0x10;
        let got: unknown;
        try {
          got = await readEverything({ ...files, [rel]: bad }, wasm);
        } catch (err) {
          if (!(err instanceof CorruptionError)) throw new Error(`byte ${pos} of ${rel}: unexpected ${String(err)}`, { cause: err });
          expect(err.file).toMatch(/^blk\//);
          expect(err.section).not.toBe("");
          expect(err.offset).toBeGreaterThanOrEqual(0);
          expect(err.message).toContain(`${err.file}: corrupt ${err.section} at offset ${err.offset}`);
          corrupt++;
          continue;
        }
        expect(got, `byte ${pos} of ${rel} changed the answer without an error`).toEqual(want);
        unchanged++;
      }
      expect(corrupt).toBeGreaterThan(0);
      // Bytes we may legitimately ignore: padding and the deprecated label index sections.
      expect(unchanged).toBeLessThan(original.length / 2);
    }, 120_000);
  }
});

describe("corruption names the section", () => {
  let files: Files;
  let toc: { symbols: number; series: number; postings: number; postingsTable: number };
  beforeAll(async () => {
    files = loadFiles(SCRAPED);
    toc = (await openFiles(files)).index.toc;
  });

  async function errorFor(rel: string, pos: number, action: (b: Block) => Promise<unknown>): Promise<CorruptionError> {
    const bad = files[rel]!.slice();
    bad[pos] ^= 0x01;
    const err = await openFiles({ ...files, [rel]: bad }).then(action).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    return err as CorruptionError;
  }
  const all = (b: Block): Promise<unknown> => readSeries(b, [], -Infinity, Infinity);

  it("index header magic", async () => {
    const e = await errorFor("index", 1, all);
    expect([e.file, e.section, e.offset]).toEqual(["blk/index", "header", 0]);
  });
  it("TOC", async () => {
    const e = await errorFor("index", files.index!.length - 10, all);
    expect([e.file, e.section]).toEqual(["blk/index", "TOC"]);
    expect(e.offset).toBe(files.index!.length - 52);
  });
  it("symbol table", async () => {
    const e = await errorFor("index", toc.symbols + 40, all);
    expect([e.file, e.section]).toEqual(["blk/index", "symbols"]);
    expect(e.message).toContain("CRC32C mismatch");
  });
  it("series entry", async () => {
    const first = Math.ceil(toc.series / 16) * 16;
    const e = await errorFor("index", first + 3, all);
    expect([e.file, e.section]).toEqual(["blk/index", "series"]);
    expect(e.offset).toBeGreaterThanOrEqual(first);
  });
  it("postings list", async () => {
    const first = Math.ceil(toc.postings / 4) * 4;
    const e = await errorFor("index", first + 12, all);
    expect([e.file, e.section, e.offset]).toEqual(["blk/index", "postings", first + 4]);
  });
  it("postings offset table", async () => {
    const e = await errorFor("index", toc.postingsTable + 20, all);
    expect([e.file, e.section]).toEqual(["blk/index", "postings offset table"]);
  });
  it("chunk segment header and chunk record", async () => {
    const h = await errorFor("chunks/000001", 2, all);
    expect([h.file, h.section, h.offset]).toEqual(["blk/chunks/000001", "segment header", 0]);
    const c = await errorFor("chunks/000001", 30, all);
    expect([c.file, c.section]).toEqual(["blk/chunks/000001", "chunk"]);
    expect(c.message).toContain("CRC32C mismatch");
  });
  it("tombstones", async () => {
    const e = await errorFor("tombstones", 0, all);
    expect([e.file, e.section, e.offset]).toEqual(["blk/tombstones", "tombstones", 0]);
  });
});

describe("truncated files", () => {
  const files = loadFiles(SCRAPED);
  for (const rel of ["index", "chunks/000001", "tombstones"]) {
    for (const frac of [0, 0.01, 0.5, 0.999]) {
      it(`${rel} cut to ${frac * 100}% gives a CorruptionError`, async () => {
        const cut = files[rel]!.subarray(0, Math.floor(files[rel]!.length * frac));
        const err = await openFiles({ ...files, [rel]: cut })
          .then((b) => readSeries(b, [], -Infinity, Infinity))
          .then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(CorruptionError);
        expect((err as CorruptionError).file).toBe(`blk/${rel}`);
      });
    }
  }

  it("an index cut mid-way fails when opened, not later with wrong data", async () => {
    const cut = files.index!.subarray(0, 4000);
    await expect(openIndexReader(createMemoryReader("blk/index", cut))).rejects.toThrow(/blk\/index: corrupt TOC at offset 3948: CRC32C mismatch/);
  });
});

describe("chunk encodings", () => {
  function segmentWith(encoding: number, data: number[]): Uint8Array {
    const body = [encoding, ...data];
    const crc = crc32c(Uint8Array.from(body));
    return Uint8Array.from([0x85, 0xbd, 0x40, 0xdd, 1, 0, 0, 0, data.length, ...body, crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255]);
  }

  it("recognises histogram chunks and says plainly they are not decoded yet", async () => {
    for (const enc of [ChunkEncoding.HISTOGRAM, ChunkEncoding.FLOAT_HISTOGRAM]) {
      const seg = segmentWith(enc, [0, 1, 0x40, 0, 0]);
      const chunk = await openChunkReader(() => createMemoryReader("blk/chunks/000001", seg)).chunk(8);
      expect(chunk.encoding).toBe(enc);
      expect(() => assertXorEncoding(chunk.encoding, "blk chunk 8")).toThrow(UnsupportedEncodingError);
      expect(() => decodeBlockSeries(wasm, "blk", [{ ref: 1, labels: [], chunks: [{ ref: 8, mint: 0, maxt: 0, encoding: chunk.encoding, data: chunk.data }] }])).toThrow(
        enc === ChunkEncoding.HISTOGRAM ? "blk/chunks/000001 chunk at offset 8: histogram chunk encoding not supported yet" : "blk/chunks/000001 chunk at offset 8: float histogram chunk encoding not supported yet",
      );
    }
  });

  it("a chunk with a valid CRC but a broken XOR stream is a CorruptionError naming the segment", () => {
    expect(() => decodeBlockSeries(wasm, "blk", [{ ref: 1, labels: [], chunks: [{ ref: 4294967296 + 100, mint: 0, maxt: 0, encoding: 1, data: Uint8Array.from([0, 5, 1]) }] }])).toThrow(
      /blk\/chunks\/000002: corrupt chunk at offset 100: XOR data/,
    );
  });
});

describe("meta.json", () => {
  const text = readFileSync(join(SCRAPED, "meta.json"), "utf8");

  it("parses a Prometheus meta.json and serializes it byte-identically", () => {
    const meta = parseBlockMeta(text, "blk/meta.json");
    expect(meta.thanos).toBeUndefined();
    expect(serializeBlockMeta(meta)).toBe(text);
  });

  it("parses and round-trips a Thanos section", () => {
    const meta = parseBlockMeta(text, "blk/meta.json");
    const withThanos = {
      ...meta,
      thanos: { labels: { region: "eu", replica: "a" }, downsample: { resolution: 0 }, source: "sidecar", files: [{ rel_path: "index", size_bytes: 10 }], index_stats: {}, extra: { upload_time: "2026-01-01T00:00:00Z" } },
    };
    const again = parseBlockMeta(serializeBlockMeta(withThanos), "x");
    expect(again).toEqual(withThanos);
    expect(serializeBlockMeta(again)).toBe(serializeBlockMeta(withThanos));
  });

  it("rejects bad meta.json with the file and the field", () => {
    const bad = (patch: Record<string, unknown>): unknown => parseBlockMeta(JSON.stringify({ ...JSON.parse(text), ...patch }), "blk/meta.json");
    expect(() => parseBlockMeta("{", "blk/meta.json")).toThrow(/blk\/meta.json: invalid meta.json: not JSON/);
    expect(() => bad({ version: 2 })).toThrow("unexpected meta file version 2");
    expect(() => bad({ ulid: "nope" })).toThrow("is not a valid ULID");
    expect(() => bad({ minTime: "1" })).toThrow("field minTime must be an integer");
    expect(() => bad({ minTime: 5, maxTime: 4 })).toThrow("minTime 5 is after maxTime 4");
    expect(() => bad({ compaction: undefined })).toThrow("missing field compaction");
    expect(() => bad({ thanos: { labels: { a: 1 } } })).toThrow("thanos.labels.a must be a string");
    expect(() => bad({ version: 2 })).toThrow(BlockMetaError);
  });
});

describe("tombstones", () => {
  function tombstonesFile(records: (number | bigint)[][]): Uint8Array {
    const body: number[] = [];
    const uvarint = (v: bigint): void => {
      while (v >= 0x80n) { body.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
      body.push(Number(v));
    };
    const varint = (v: bigint): void => uvarint(v < 0n ? ((-v) << 1n) - 1n : v << 1n);
    for (const [ref, mint, maxt] of records) { uvarint(BigInt(ref!)); varint(BigInt(mint!)); varint(BigInt(maxt!)); }
    const crc = crc32c(Uint8Array.from(body));
    return Uint8Array.from([0x01, 0x30, 0xba, 0x30, 1, ...body, crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255]);
  }

  it("parses intervals, merges them and hides deleted samples (stale markers kept by bits)", () => {
    const t = parseTombstones(tombstonesFile([[6, 100, 200], [6, 150, 300], [9, -5, 0], [6, 1000, 1000]]), "blk/tombstones");
    expect(t.size).toBe(2);
    expect(t.get(6)).toEqual([{ mint: 100, maxt: 300 }, { mint: 1000, maxt: 1000 }]);
    expect(t.get(9)).toEqual([{ mint: -5, maxt: 0 }]);
    expect(t.get(7)).toBeUndefined();
    expect(isFullyDeleted(120, 250, t.get(6))).toBe(true);
    expect(isFullyDeleted(120, 350, t.get(6))).toBe(false);
    const ts = Float64Array.from([50, 100, 301, 1000, 1001]);
    const vs = Float64Array.from([1, 2, 3, 4, 5]);
    // Set the stale marker by bits: JS arrays of doubles may canonicalise NaN payloads.
    new BigUint64Array(vs.buffer)[2] = 0x7ff0000000000002n;
    expect(isStaleMarker(vs[2]!)).toBe(true);
    const r = applyTombstones(ts, vs, t.get(6));
    expect([...r.t]).toEqual([50, 301, 1001]);
    expect(isStaleMarker(r.v[1]!)).toBe(true);
  });

  it("handles all-time intervals beyond 2^53 ms", () => {
    const t = parseTombstones(tombstonesFile([[3, -9223372036854775808n, 9223372036854775807n]]), "blk/tombstones");
    const iv = t.get(3)![0]!;
    expect(iv.mint).toBeLessThan(-9e18);
    expect(iv.maxt).toBeGreaterThan(9e18);
  });

  it("an empty 9-byte file means no tombstones", () => {
    expect(parseTombstones(readFileSync(join(SCRAPED, "tombstones")), "blk/tombstones").size).toBe(0);
  });
});

describe("sizes recorded in a Thanos meta.json", () => {
  it("report a truncated index or segment plainly", async () => {
    const { writeBlock } = await import("../src/tsdb/block-writer.ts");
    const t = Float64Array.from({ length: 300 }, (_, i) => 1_700_000_000_000 + i * 15_000);
    const v = Float64Array.from({ length: 300 }, (_, i) => i);
    const written = writeBlock([{ labels: [{ name: "__name__", value: "up" }], t, v }], { thanos: { labels: { replica: "a" } } });
    const files: Files = Object.fromEntries(written.files);
    expect(written.meta.thanos?.files?.some((f) => f.rel_path === "index" && f.size_bytes === files.index!.length)).toBe(true);
    const good = await openFiles(files);
    expect((await readSeries(good, [], -Infinity, Infinity)).length).toBe(1);
    await expect(openFiles({ ...files, index: files.index!.subarray(0, files.index!.length - 1) })).rejects.toThrow(/blk\/index: corrupt file at offset \d+: file has \d+ bytes, meta.json says \d+ \(truncated\)/);
    const seg = files["chunks/000001"]!;
    const b = await openFiles({ ...files, "chunks/000001": seg.subarray(0, seg.length - 3) });
    await expect(readSeries(b, [], -Infinity, Infinity)).rejects.toThrow(/blk\/chunks\/000001: corrupt segment at offset \d+: file has \d+ bytes, meta.json says \d+ \(truncated\)/);
  });
});

describe("index versions", () => {
  it("rejects index v1 and unknown versions plainly, accepts v3 (same layout as v2)", async () => {
    const index = new Uint8Array(readFileSync(join(SMALL, "index")));
    for (const [version, message] of [[1, "index format v1 (Prometheus 2.0) is not supported"], [7, "unknown index version 7"]] as const) {
      const bad = index.slice();
      bad[4] = version;
      await expect(openIndexReader(createMemoryReader("blk/index", bad))).rejects.toThrow(`blk/index: corrupt header at offset 4: ${message}`);
    }
    const v3 = index.slice();
    v3[4] = 3;
    const r = await openIndexReader(createMemoryReader("blk/index", v3));
    expect(r.version).toBe(3);
    expect((await r.seriesMany(await r.allPostings())).length).toBe(4);
  });
});
