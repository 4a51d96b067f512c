/**
 * The TSDB reader against real Prometheus 2.42 blocks: every series' labels, chunk refs and
 * bytes, and every sample's bits (decoded by the WASM decoder) must equal expected.json, which was
 * produced independently from the same blocks.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { createMemoryReader } from "../src/tsdb/byte-range-reader.ts";
import { openBlock, readSeries, type Block } from "../src/tsdb/block.ts";
import { decodeBlockSeries } from "../src/tsdb/decode.ts";
import { chunkRef } from "../src/tsdb/series.ts";
import { labelsFromRecord } from "../src/model/labels.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import type { MeridianWasm } from "../src/wasm/module.ts";
import { isStaleMarker } from "../src/model/series.ts";

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = existsSync(join(here, "fixtures/blocks/prometheus-2.42-scraped"))
  ? join(here, "fixtures/blocks")
  : join(here, "../../shared/fixtures/blocks");
const GROUPS = ["promtool-openmetrics-2.42", "promtool-openmetrics-edgecases-2.42", "prometheus-2.42-scraped"];

interface ExpectedChunk { ref: number; segment_index: number; offset: number; mint: number; maxt: number; encoding: number; data_len: number; samples: [number, string][] }
interface ExpectedBlock {
  ulid: string;
  index_version: number;
  toc: { symbols: number; series: number; label_indices: number; label_offset_table: number; postings: number; postings_offset_table: number };
  symbols: string[];
  postings: [string, string, number[]][];
  series: { ref: number; labels: Record<string, string>; chunks: ExpectedChunk[] }[];
}

function openFixture(dir: string): Promise<Block> {
  return openBlock((rel) => {
    const path = join(dir, rel);
    if (!existsSync(path)) return null;
    return createMemoryReader(`${dir.split("/").pop()}/${rel}`, new Uint8Array(readFileSync(path)));
  });
}

function bitsHex(v: Float64Array, i: number): string {
  const b = new BigUint64Array(v.buffer, v.byteOffset, v.length);
  return b[i]!.toString(16).padStart(16, "0");
}

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

it("finds the 566 stale markers of the scraped blocks, distinct from ordinary NaN", async () => {
  const dir = join(FIXTURES, "prometheus-2.42-scraped");
  let stale = 0;
  for (const ulid of readdirSync(dir).filter((d) => /^[0-9A-Z]{26}$/.test(d))) {
    const block = await openFixture(join(dir, ulid));
    for (const s of decodeBlockSeries(wasm, block.name, await readSeries(block, [], -Infinity, Infinity))) {
      for (let i = 0; i < s.v.length; i++) if (isStaleMarker(s.v[i]!)) stale++;
    }
  }
  expect(stale).toBe(566);
});

for (const group of GROUPS) {
  const expected = JSON.parse(readFileSync(join(FIXTURES, group, "expected.json"), "utf8")) as { blocks: ExpectedBlock[] };
  describe(`fixture ${group}`, () => {
    it("has blocks on disk for every expected block", () => {
      const dirs = readdirSync(join(FIXTURES, group)).filter((d) => /^[0-9A-Z]{26}$/.test(d)).sort();
      expect(dirs).toEqual(expected.blocks.map((b) => b.ulid).sort());
    });
    for (const eb of expected.blocks) {
      describe(eb.ulid, () => {
        let block: Block;
        beforeAll(async () => {
          block = await openFixture(join(FIXTURES, group, eb.ulid));
        });

        it("reads meta.json, index version and TOC", () => {
          expect(block.meta.ulid).toBe(eb.ulid);
          expect(block.meta.version).toBe(1);
          expect(block.index.version).toBe(eb.index_version);
          expect(block.index.toc).toEqual({
            symbols: eb.toc.symbols,
            series: eb.toc.series,
            labelIndices: eb.toc.label_indices,
            labelIndicesTable: eb.toc.label_offset_table,
            postings: eb.toc.postings,
            postingsTable: eb.toc.postings_offset_table,
          });
          expect(block.tombstones.size).toBe(0);
        });

        it("reads the symbol table, by ref and by string", async () => {
          const syms = block.index.header.symbols;
          expect(await syms.all()).toEqual(eb.symbols);
          expect(await syms.lookupMany(eb.symbols.map((_, i) => i))).toEqual(eb.symbols);
          for (let i = 0; i < eb.symbols.length; i += 7) expect(await syms.find(eb.symbols[i]!)).toBe(i);
          expect(await syms.find("\u{10FFFF}not-a-symbol")).toBe(-1);
        });

        it("reads label names, label values and every postings list", async () => {
          const names = [...new Set(eb.postings.map((p) => p[0]).filter((n) => n !== ""))];
          expect(await block.index.labelNames()).toEqual(names);
          for (const name of names) {
            expect(await block.index.labelValues(name)).toEqual(eb.postings.filter((p) => p[0] === name).map((p) => p[1]));
          }
          expect(await block.index.labelValues("no_such_label")).toEqual([]);
          const lists = await block.index.readPostings(await block.index.locatePostings("", [""]));
          expect([...lists[0]!]).toEqual(eb.postings[0]![2]);
          for (const [name, value, refs] of eb.postings) {
            expect([...(await block.index.postings(name, [value]))]).toEqual(refs);
          }
          expect([...(await block.index.postings("__name__", ["no such value"]))]).toEqual([]);
        });

        it("reads every series: labels and chunk metas", async () => {
          const all = await block.index.allPostings();
          expect([...all]).toEqual(eb.series.map((s) => s.ref));
          const series = await block.index.seriesMany(all);
          expect(series.length).toBe(eb.series.length);
          series.forEach((s, i) => {
            const es = eb.series[i]!;
            expect(s.ref).toBe(es.ref);
            expect(s.labels).toEqual(labelsFromRecord(es.labels));
            expect(s.chunks).toEqual(es.chunks.map((c) => ({ ref: chunkRef(c.segment_index, c.offset), mint: c.mint, maxt: c.maxt })));
            for (const c of es.chunks) expect(chunkRef(c.segment_index, c.offset)).toBe(c.ref);
          });
        });

        it("reads every chunk and decodes every sample bit for bit", async () => {
          const series = await readSeries(block, [], -Infinity, Infinity);
          expect(series.map((s) => s.ref)).toEqual(eb.series.filter((s) => s.chunks.length > 0).map((s) => s.ref));
          let samples = 0;
          series.forEach((s, i) => {
            const es = eb.series[i]!;
            s.chunks.forEach((c, j) => {
              expect(c.encoding).toBe(es.chunks[j]!.encoding);
              expect(c.data.length).toBe(es.chunks[j]!.data_len);
            });
          });
          const decoded = decodeBlockSeries(wasm, block.name, series);
          decoded.forEach((d, i) => {
            const want = eb.series[i]!.chunks.flatMap((c) => c.samples);
            expect(d.t.length).toBe(want.length);
            const gotPairs = Array.from(d.t, (t, k) => [t, bitsHex(d.v, k)]);
            expect(gotPairs).toEqual(want);
            samples += want.length;
          });
          expect(samples).toBe(block.meta.stats.numSamples);
        });

        it("fetches chunks one by one and in a batch with the same bytes", async () => {
          const metas = eb.series.flatMap((s) => s.chunks).slice(0, 50);
          const refs = metas.map((c) => c.ref);
          const batch = await block.chunks.chunks(refs);
          for (let i = 0; i < refs.length; i += 9) {
            const one = await block.chunks.chunk(refs[i]!);
            expect(one.encoding).toBe(batch[i]!.encoding);
            expect([...one.data]).toEqual([...batch[i]!.data]);
          }
        });

        it("limits readSeries to chunks overlapping [mint, maxt]", async () => {
          const mid = Math.floor((block.meta.minTime + block.meta.maxTime) / 2);
          const series = await readSeries(block, [], mid, mid + 1000);
          const want = eb.series
            .map((s) => ({ ref: s.ref, chunks: s.chunks.filter((c) => c.maxt >= mid && c.mint <= mid + 1000).map((c) => c.ref) }))
            .filter((s) => s.chunks.length > 0);
          expect(series.map((s) => ({ ref: s.ref, chunks: s.chunks.map((c) => c.ref) }))).toEqual(want);
          const decoded = decodeBlockSeries(wasm, block.name, series, mid, mid + 1000);
          for (const d of decoded) for (const t of d.t) expect(t >= mid && t <= mid + 1000).toBe(true);
        });
      });
    }
  });
}
