/**
 * Index reading beyond the fixture comparison: postings set algebra (property tests), matcher
 * resolution for all four matcher types against a brute-force scan of every series, and the
 * index-header round trip (build → serialize → load gives the same answers as the full reader,
 * with default and with aggressive sampling).
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createMemoryReader, type ByteRangeReader } from "../src/tsdb/byte-range-reader.ts";
import { openIndexReader, type IndexReader } from "../src/tsdb/index-reader.ts";
import { buildIndexHeader, loadIndexHeader, serializeIndexHeader, indexHeaderChunks } from "../src/tsdb/index-header.ts";
import { intersect, intersectAll, literalAlternatives, subtract, union } from "../src/tsdb/postings.ts";
import { mergeRanges } from "../src/tsdb/ranges.ts";
import { createMatcher, type Matcher, type MatchType } from "../src/model/matcher.ts";
import { getLabel, type Labels } from "../src/model/labels.ts";
import { CorruptionError } from "../src/tsdb/errors.ts";

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = existsSync(join(here, "fixtures/blocks/prometheus-2.42-scraped"))
  ? join(here, "fixtures/blocks")
  : join(here, "../../shared/fixtures/blocks");

function indexFiles(): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const group of ["promtool-openmetrics-2.42", "promtool-openmetrics-edgecases-2.42", "prometheus-2.42-scraped"]) {
    for (const ulid of readdirSync(join(FIXTURES, group)).filter((d) => /^[0-9A-Z]{26}$/.test(d)).sort()) {
      out.push({ name: `${ulid}/index`, bytes: new Uint8Array(readFileSync(join(FIXTURES, group, ulid, "index"))) });
    }
  }
  return out;
}

/** A reader that counts requests and bytes, to show what stays resident and what is read by range. */
function countingReader(name: string, bytes: Uint8Array): ByteRangeReader & { reads: number; bytesRead: number } {
  const inner = createMemoryReader(name, bytes);
  const r = {
    name,
    reads: 0,
    bytesRead: 0,
    size: inner.size,
    async read(offset: number, length: number) {
      r.reads++;
      r.bytesRead += length;
      return inner.read(offset, length);
    },
  };
  return r;
}

const sortedSet = fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { maxLength: 80 }).map((a) => Uint32Array.from(a.sort((x, y) => x - y)));

describe("postings set algebra", () => {
  it("intersect, union and subtract agree with sets", () => {
    fc.assert(
      fc.property(fc.array(sortedSet, { minLength: 1, maxLength: 5 }), (lists) => {
        const sets = lists.map((l) => new Set(l));
        const all = [...new Set(lists.flatMap((l) => [...l]))].sort((a, b) => a - b);
        expect([...union(lists)]).toEqual(all);
        expect([...intersectAll(lists)]).toEqual(all.filter((v) => sets.every((s) => s.has(v))));
        expect([...intersect(lists[0]!, lists[lists.length - 1]!)]).toEqual([...lists[0]!].filter((v) => sets[sets.length - 1]!.has(v)));
        expect([...subtract(lists[0]!, lists[lists.length - 1]!)]).toEqual([...lists[0]!].filter((v) => !sets[sets.length - 1]!.has(v)));
      }),
    );
  });

  it("intersects a short list with a long one (galloping)", () => {
    const long = Uint32Array.from({ length: 100_000 }, (_, i) => i * 3);
    const short = Uint32Array.from([0, 1, 2, 3, 299_997, 300_000]);
    expect([...intersect(short, long)]).toEqual([0, 3, 299_997]);
  });

  it("recognises literal alternations only", () => {
    expect(literalAlternatives("a|b|c_d")).toEqual(["a", "b", "c_d"]);
    expect(literalAlternatives("a.*")).toBeUndefined();
    expect(literalAlternatives("(a|b)")).toBeUndefined();
  });

  it("merges nearby ranges and keeps far ones apart", () => {
    const m = mergeRanges([{ offset: 100, length: 10 }, { offset: 0, length: 10 }, { offset: 1000, length: 5 }], 200);
    expect(m).toEqual([
      { offset: 0, length: 110, members: [1, 0] },
      { offset: 1000, length: 5, members: [2] },
    ]);
  });
});

/** Matchers of all four types built from the block's own names and values, plus absent ones. */
async function matcherSets(idx: IndexReader): Promise<Matcher[][]> {
  const sets: Matcher[][] = [[]];
  const names = await idx.labelNames();
  const types: MatchType[] = ["=", "!=", "=~", "!~"];
  for (const name of names) {
    const values = await idx.labelValues(name);
    const picks = [values[0]!, values[Math.floor(values.length / 2)]!, values[values.length - 1]!];
    for (const v of picks) {
      for (const t of types) sets.push([createMatcher(t, name, t.endsWith("~") ? escapeRe(v) : v)]);
    }
    const prefix = values[0]!.slice(0, 2);
    sets.push([createMatcher("=~", name, `${escapeRe(prefix)}.*`)]);
    sets.push([createMatcher("!~", name, `${escapeRe(prefix)}.*`)]);
    sets.push([createMatcher("=~", name, `${escapeRe(values[0]!)}|${escapeRe(values[values.length - 1]!)}`)]);
    sets.push([createMatcher("=", name, "")]);
    sets.push([createMatcher("!=", name, "")]);
    sets.push([createMatcher("=~", name, ".+")]);
    sets.push([createMatcher("=~", name, ".*")]);
    sets.push([createMatcher("!~", name, ".+")]);
  }
  sets.push([createMatcher("=", "no_such_label", "x")]);
  sets.push([createMatcher("=", "no_such_label", "")]);
  sets.push([createMatcher("!=", "no_such_label", "x")]);
  sets.push([createMatcher("=~", "no_such_label", ".*")]);
  // Combinations.
  if (names.includes("__name__") && names.length > 1) {
    const other = names.find((n) => n !== "__name__")!;
    const nv = await idx.labelValues("__name__");
    const ov = await idx.labelValues(other);
    sets.push([createMatcher("=", "__name__", nv[0]!), createMatcher("!=", other, ov[0]!)]);
    sets.push([createMatcher("=~", "__name__", ".+"), createMatcher("=~", other, `${escapeRe(ov[ov.length - 1]!)}|${escapeRe(ov[0]!)}`)]);
    sets.push([createMatcher("!~", "__name__", `${escapeRe(nv[0]!)}`), createMatcher("=", other, "")]);
  }
  return sets;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function bruteForce(series: { ref: number; labels: Labels }[], ms: readonly Matcher[]): number[] {
  return series.filter((s) => ms.every((m) => m.matches(getLabel(s.labels, m.name)))).map((s) => s.ref);
}

describe("matchers → postings on every fixture index", () => {
  for (const f of indexFiles()) {
    it(`${f.name}: all four matcher types equal a brute-force scan`, async () => {
      const idx = await openIndexReader(createMemoryReader(f.name, f.bytes));
      const series = await idx.seriesMany(await idx.allPostings());
      const sets = await matcherSets(idx);
      expect(sets.length).toBeGreaterThan(10);
      let nonEmpty = 0;
      for (const ms of sets) {
        const got = [...(await idx.postingsForMatchers(ms))];
        expect(got, ms.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(",")).toEqual(bruteForce(series, ms));
        if (got.length > 0 && got.length < series.length) nonEmpty++;
      }
      if (series.length > 1) expect(nonEmpty).toBeGreaterThan(0);
    });
  }
});

describe("index-header", () => {
  const variants = [
    { label: "default sampling", opts: {} },
    { label: "sampling 2, nothing resident", opts: { postingsSampling: 2, residentSymbols: 0, symbolCacheBlocks: 2 } },
    { label: "sampling 1000", opts: { postingsSampling: 1000, residentSymbols: 0 } },
  ];
  for (const f of indexFiles()) {
    for (const v of variants) {
      it(`${f.name}: serialized, loaded header answers like the full reader (${v.label})`, async () => {
        const full = await openIndexReader(createMemoryReader(f.name, f.bytes));
        const built = await buildIndexHeader(createMemoryReader(f.name, f.bytes), v.opts);
        const bytes = await serializeIndexHeader(built);
        const streamed: number[] = [];
        for await (const c of indexHeaderChunks(built, 97)) streamed.push(...c);
        expect(Uint8Array.from(streamed)).toEqual(bytes);
        const header = await loadIndexHeader(createMemoryReader("index-header", bytes), v.opts);
        const index = countingReader(f.name, f.bytes);
        const viaHeader = await openIndexReader(index, header);
        expect(index.reads).toBe(0); // nothing read up front with a cached header
        expect(viaHeader.toc).toEqual(full.toc);
        expect(viaHeader.version).toBe(full.version);
        expect(await viaHeader.labelNames()).toEqual(await full.labelNames());
        for (const name of await full.labelNames()) {
          expect(await viaHeader.labelValues(name)).toEqual(await full.labelValues(name));
        }
        expect(await header.symbols.all()).toEqual(await full.header.symbols.all());
        for (const ms of await matcherSets(full)) {
          expect([...(await viaHeader.postingsForMatchers(ms))]).toEqual([...(await full.postingsForMatchers(ms))]);
        }
        const all = await full.allPostings();
        expect(await viaHeader.seriesMany(all)).toEqual(await full.seriesMany(all));
        // The index-header is smaller than the index and reads by range stay below the index size.
        expect(bytes.length).toBeLessThan(f.bytes.length);
      });
    }
  }

  it("reads a single series by range, not the whole index", async () => {
    const f = indexFiles().find((x) => x.name.startsWith("01M89368HXR87AQGZF70G716T6"))!;
    const header = await buildIndexHeader(createMemoryReader(f.name, f.bytes));
    const index = countingReader(f.name, f.bytes);
    const idx = await openIndexReader(index, header, { maxGap: 0 });
    const values = await idx.labelValues("__name__");
    const refs = await idx.postingsForMatchers([createMatcher("=", "__name__", values[3]!)]);
    const s = await idx.seriesMany(refs);
    expect(s.length).toBe(refs.length);
    expect(index.bytesRead).toBeLessThan(f.bytes.length / 10);
  });

  it("rejects a corrupted serialized header with the file, section and offset", async () => {
    const f = indexFiles()[0]!;
    const bytes = await serializeIndexHeader(await buildIndexHeader(createMemoryReader(f.name, f.bytes)));
    for (const pos of [0, 9, 70, bytes.length - 40, bytes.length - 5]) {
      const bad = bytes.slice();
      bad[pos] ^= 0x40;
      const err = await loadIndexHeader(createMemoryReader("cache/index-header", bad)).catch((e: unknown) => e);
      expect(err, `byte ${pos}`).toBeInstanceOf(CorruptionError);
      expect((err as CorruptionError).file).toBe("cache/index-header");
    }
    const err = await loadIndexHeader(createMemoryReader("cache/index-header", bytes.subarray(0, bytes.length - 10))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
  });
});

describe("range merging limits", () => {
  it("never grows a merged read beyond the cap, but keeps a large single range whole", () => {
    const ranges = Array.from({ length: 10 }, (_, i) => ({ offset: i * 100, length: 100 }));
    const m = mergeRanges(ranges, 1000, 350);
    expect(m.map((r) => [r.offset, r.length])).toEqual([[0, 300], [300, 300], [600, 300], [900, 100]]);
    expect(mergeRanges([{ offset: 0, length: 5000 }], 10, 100)).toEqual([{ offset: 0, length: 5000, members: [0] }]);
    // Every input range is covered by the merged read that lists it.
    fc.assert(
      fc.property(fc.array(fc.record({ offset: fc.nat(10_000), length: fc.nat(500) }), { maxLength: 40 }), fc.nat(300), fc.integer({ min: 1, max: 2000 }), (rs, gap, cap) => {
        const merged = mergeRanges(rs, gap, cap);
        const seen = new Set<number>();
        for (const mr of merged) {
          for (const i of mr.members) {
            seen.add(i);
            expect(rs[i]!.offset).toBeGreaterThanOrEqual(mr.offset);
            expect(rs[i]!.offset + rs[i]!.length).toBeLessThanOrEqual(mr.offset + mr.length);
          }
        }
        expect(seen.size).toBe(rs.length);
      }),
    );
  });
});

describe("size estimates", () => {
  it("reads the same series and chunks when entries are longer than the estimates", async () => {
    const { openBlock, readSeries } = await import("../src/tsdb/block.ts");
    const dir = join(FIXTURES, "prometheus-2.42-scraped", "01M89368HXR87AQGZF70G716T6");
    const open = (rel: string) => (existsSync(join(dir, rel)) ? createMemoryReader(rel, new Uint8Array(readFileSync(join(dir, rel)))) : null);
    const normal = await readSeries(await openBlock(open), [], -Infinity, Infinity);
    for (const est of [1, 3, 6, 17]) {
      const tiny = await readSeries(await openBlock(open, { seriesSizeEstimate: est, chunkSizeEstimate: est, maxGap: 0 }), [], -Infinity, Infinity);
      expect(tiny).toEqual(normal);
      // Merged reads (default gap): records are parsed inside a larger read, those cut at its end re-read.
      const merged = await readSeries(await openBlock(open, { chunkSizeEstimate: est }), [], -Infinity, Infinity);
      expect(merged).toEqual(normal);
    }
  });
});
