import { describe, expect, it } from "vitest";
import { labelsFromRecord } from "../model/labels.ts";
import { writeBlock } from "./block-writer.ts";
import { createMemoryReader, type ByteRangeReader } from "./byte-range-reader.ts";
import { CorruptionError } from "./errors.ts";
import { buildIndexHeader, buildSerializedIndexHeader, loadIndexHeader, reopenIndexHeader, serializeIndexHeader, type IndexHeader, type IndexHeaderOptions } from "./index-header.ts";

function indexBytes(n = 300): Uint8Array {
  const series = [];
  for (let i = 0; i < n; i++) {
    const labels = labelsFromRecord({ __name__: `m_${i % 7}`, instance: `host-${String(i).padStart(n > 1000 ? 30 : 4, "0")}`, zone: `z${i % 5}`, ...(i % 3 === 0 ? { extra: `é${i}` } : {}) });
    series.push({ labels, t: Float64Array.of(1000 + i), v: Float64Array.of(i) });
  }
  return writeBlock(series).files.get("index")!;
}

/** A reader that refuses reads once `closed` is set (the index is gone after the header is built). */
function guarded(name: string, bytes: Uint8Array): ByteRangeReader & { closed: boolean; reads: number; bytesRead: number } {
  const inner = createMemoryReader(name, bytes);
  const r = {
    name,
    closed: false,
    reads: 0,
    bytesRead: 0,
    size: inner.size,
    read(offset: number, length: number) {
      if (r.closed) throw new Error(`${name} read after close`);
      r.reads++;
      r.bytesRead += length;
      return inner.read(offset, length);
    },
  };
  return r;
}

async function answers(h: IndexHeader): Promise<unknown> {
  const names = h.postingsTable.labelNames();
  const values: Record<string, string[]> = {};
  const located: Record<string, unknown> = {};
  for (const n of ["", ...names]) {
    values[n] = await h.postingsTable.labelValues(n);
    located[n] = await h.postingsTable.locate(n, values[n]!.filter((_, i) => i % 3 !== 1).concat(["nope"]));
  }
  const all = await h.symbols.all();
  const found = await Promise.all(all.filter((_, i) => i % 4 === 0).map((s) => h.symbols.find(s)));
  const looked = await h.symbols.lookupMany(all.map((_, i) => all.length - 1 - i));
  return { names, values, located, all, found, looked, count: h.symbols.count, toc: h.toc, end: h.postingsEnd, size: h.indexSize, version: h.indexVersion };
}

describe("reopenIndexHeader", () => {
  const variants: IndexHeaderOptions[] = [{}, { postingsSampling: 2, residentSymbols: 0, symbolCacheBlocks: 2 }];
  for (const opts of variants) {
    it(`answers like a header loaded from the file, reading only the file (${JSON.stringify(opts)})`, async () => {
      const index = guarded("blk/index", indexBytes());
      const built = await buildIndexHeader(index, opts);
      const bytes = await serializeIndexHeader(built);
      index.closed = true;
      const file = guarded("cache/index-header", bytes);
      const reopened = await reopenIndexHeader(built, file, opts);
      expect(reopened.sources.symbols.reader).toBe(file);
      const loaded = await loadIndexHeader(createMemoryReader("cache/index-header", bytes), opts);
      expect(await answers(reopened)).toEqual(await answers(loaded));
      if (opts.residentSymbols === 0) expect(file.reads).toBeGreaterThan(0);
      // And it serializes to the same bytes.
      expect(await serializeIndexHeader(reopened)).toEqual(bytes);
    });
  }

  it("rejects a file that is not the size of the header written to it", async () => {
    const built = await buildIndexHeader(createMemoryReader("blk/index", indexBytes()));
    const bytes = await serializeIndexHeader(built);
    const err = await reopenIndexHeader(built, createMemoryReader("cache/index-header", bytes.subarray(0, bytes.length - 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toMatch(/cache\/index-header: corrupt index-header .* the header written to it has/);
  });
});

describe("buildSerializedIndexHeader", () => {
  it("serializes the same bytes as build + serialize, fetching each section once", async () => {
    const idx = indexBytes();
    const twice = guarded("blk/index", idx);
    const want = await serializeIndexHeader(await buildIndexHeader(twice));
    const once = guarded("blk/index", idx);
    const { header, bytes } = await buildSerializedIndexHeader(once);
    expect(bytes).toEqual(want);
    const sections = header.sources.symbols.length + header.sources.postingsTable.length;
    // Sections once plus the index header and TOC, where build + serialize read the sections twice.
    expect(once.bytesRead).toBeLessThan(sections + 100);
    expect(twice.bytesRead).toBeGreaterThan(2 * sections);
    // The header keeps working over the index once the kept pieces are dropped.
    const before = once.reads;
    const loaded = await loadIndexHeader(createMemoryReader("cache/index-header", bytes), { residentSymbols: 0 });
    expect(await answers(header)).toEqual(await answers(loaded));
    expect(await serializeIndexHeader(header)).toEqual(want);
    expect(once.reads).toBeGreaterThan(before);
  });

  it("assembles serialized chunks from pieces fetched at other boundaries (sections over 1 MiB)", async () => {
    const idx = indexBytes(40_000);
    const want = await serializeIndexHeader(await buildIndexHeader(createMemoryReader("blk/index", idx)));
    const once = guarded("blk/index", idx);
    const { header, bytes } = await buildSerializedIndexHeader(once);
    expect(header.sources.symbols.length).toBeGreaterThan(1 << 20);
    // (toEqual on MiB-sized arrays is very slow.)
    expect(bytes.length).toBe(want.length);
    expect(bytes.findIndex((b, i) => b !== want[i])).toBe(-1);
    expect(once.bytesRead).toBeLessThan(header.sources.symbols.length + header.sources.postingsTable.length + 100);
  });
});
