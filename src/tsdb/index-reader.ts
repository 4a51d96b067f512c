/**
 * Reads a block's index through a {@link ByteRangeReader}: label names and values from the
 * (sampled) postings offset table, postings lists and series entries by range. Nothing but the
 * index-header is resident. Every read has a "where is it" form (offsets and lengths) so a store
 * can batch, cache and merge reads itself, and a convenience form that does it here.
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import type { Label, Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { CorruptionError } from "./errors.ts";
import { type IndexHeader, type IndexHeaderOptions, buildIndexHeader } from "./index-header.ts";
import type { IndexToc } from "./index-toc.ts";
import type { PostingsLocation } from "./postings-offset-table.ts";
import { type Postings, decodePostings, postingsForMatchers, union } from "./postings.ts";
import { DEFAULT_MAX_GAP, type ByteRange, readRanges } from "./ranges.ts";
import { type ChunkMeta, type SeriesEntryRefs, decodeSeriesEntry, seriesEntryLength } from "./series.ts";
import { readOrCorrupt } from "./errors.ts";

/** A series with resolved labels. */
export interface SeriesEntry {
  readonly ref: number;
  readonly labels: Labels;
  readonly chunks: ChunkMeta[];
}

/** Tuning for range reads. */
export interface IndexReaderOptions extends IndexHeaderOptions {
  /** Merge reads whose gap is at most this many bytes (default 512 KiB, as Thanos). */
  maxGap?: number;
  /** Bytes read per series before its length is known (default 512; longer entries are re-read). */
  seriesSizeEstimate?: number;
}

/** Read access to one index. */
export interface IndexReader {
  readonly name: string;
  /** The resident part; cache it with `serializeIndexHeader`. */
  readonly header: IndexHeader;
  readonly version: number;
  readonly toc: IndexToc;
  /** Label names, sorted. */
  labelNames(): Promise<string[]>;
  /** Values of `name`, sorted; [] when absent. */
  labelValues(name: string): Promise<string[]>;
  /** Where the postings lists of `name`=v for v in `values` are (existing values only). */
  locatePostings(name: string, values: readonly string[]): Promise<PostingsLocation[]>;
  /** Reads and decodes lists (merged reads), in the order of `locations`. */
  readPostings(locations: readonly PostingsLocation[]): Promise<Postings[]>;
  /** Union of the lists of `name`=v for v in `values`. */
  postings(name: string, values: readonly string[]): Promise<Postings>;
  /** Every series ref. */
  allPostings(): Promise<Postings>;
  /** Series refs matching all matchers (Prometheus semantics; [] matchers = all series). */
  postingsForMatchers(matchers: readonly Matcher[]): Promise<Postings>;
  /** Absolute offset of series `ref`'s entry; its length is only known after reading (see `seriesEntryLength`). */
  seriesOffset(ref: number): number;
  /** Where reads of the given series may end: the end of the series section. */
  readonly seriesSectionEnd: number;
  /** Raw entries (symbol refs) of many series, read with merged ranges. Order of `refs`. */
  readSeriesRefs(refs: ArrayLike<number>): Promise<SeriesEntryRefs[]>;
  /** Resolves an entry's symbol refs into labels. */
  resolveLabels(entries: readonly SeriesEntryRefs[]): Promise<Labels[]>;
  /**
   * The same for label refs given flat: entry i's (name, value) symbol refs are the next
   * `counts[i]` values of `refs` (no object per entry; the store gateway passes cached entries so).
   */
  resolveLabelRefs(refs: Uint32Array, counts: ArrayLike<number>): Promise<Labels[]>;
  /** One series with labels. */
  series(ref: number): Promise<SeriesEntry>;
  /** Many series with labels. Order of `refs`. */
  seriesMany(refs: ArrayLike<number>): Promise<SeriesEntry[]>;
}

/**
 * Opens an index. Without `header`, builds it first (one pass over the symbol table and postings
 * offset table); with one (e.g. loaded from the store's disk cache), reads nothing up front.
 */
export async function openIndexReader(reader: ByteRangeReader, header?: IndexHeader, opts: IndexReaderOptions = {}): Promise<IndexReader> {
  const h = header ?? (await buildIndexHeader(reader, opts));
  const file = reader.name;
  const maxGap = opts.maxGap ?? DEFAULT_MAX_GAP;
  const estimate = opts.seriesSizeEstimate ?? 512;
  const toc = h.toc;
  const seriesEnd = toc.labelIndices > toc.series ? toc.labelIndices : toc.postings > toc.series ? toc.postings : h.indexSize;
  const table = h.postingsTable;
  let allCache: Promise<Postings> | undefined;

  async function readPostings(locs: readonly PostingsLocation[]): Promise<Postings[]> {
    const bytes = await readRanges(reader, locs, "postings", maxGap);
    return bytes.map((b, i) => decodePostings(b, file, locs[i]!.offset));
  }

  async function postings(name: string, values: readonly string[]): Promise<Postings> {
    const locs = await table.locate(name, values);
    return union(await readPostings(locs));
  }

  // Every series: the ("", "") list, or (for indexes without it) the union of all lists.
  async function allPostingsOf(): Promise<Postings> {
    if (table.nameSample("")) return postings("", [""]);
    const lists = await Promise.all(table.labelNames().map(async (n) => postings(n, await table.labelValues(n))));
    return union(lists);
  }

  async function readSeriesRefs(refs: ArrayLike<number>): Promise<SeriesEntryRefs[]> {
    const ranges: ByteRange[] = [];
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const off = ref * 16;
      if (!(off >= toc.series && off < seriesEnd)) {
        throw new CorruptionError(file, "series", off, `series ref ${ref} outside the series section [${toc.series}, ${seriesEnd})`);
      }
      ranges.push({ offset: off, length: Math.min(estimate, seriesEnd - off) });
    }
    const views = await readRanges(reader, ranges, "series", maxGap);
    const out: SeriesEntryRefs[] = new Array(refs.length);
    const slow: Promise<void>[] = [];
    for (let i = 0; i < views.length; i++) {
      const view = views[i]!;
      const ref = refs[i]!;
      const off = ref * 16;
      const need = seriesEntryLength(view, 0);
      // Common case: the estimate covered the entry; decode without awaiting.
      if (need !== undefined && need <= view.length) {
        out[i] = decodeSeriesEntry(view, 0, file, off, ref);
        continue;
      }
      slow.push(
        (async () => {
          let bytes = view;
          // Longer than the estimate: re-read (twice at most: the first may only complete the varint).
          for (let attempt = 0; attempt < 2; attempt++) {
            const n = seriesEntryLength(bytes, 0);
            if (n !== undefined && n <= bytes.length) break;
            const want = n === undefined ? Math.max(bytes.length * 2, 16) : n === Number.POSITIVE_INFINITY ? 5 : n;
            const len = Math.min(want, seriesEnd - off);
            if (len <= bytes.length) break; // cannot get more: let the decoder report the truncation
            bytes = await readOrCorrupt(file, "series", off, () => reader.read(off, len));
          }
          out[i] = decodeSeriesEntry(bytes, 0, file, off, ref);
        })(),
      );
    }
    await Promise.all(slow);
    return out;
  }

  async function resolveLabels(entries: readonly SeriesEntryRefs[]): Promise<Labels[]> {
    let total = 0;
    for (const e of entries) total += e.labelRefs.length;
    const all = new Uint32Array(total);
    const counts = new Uint32Array(entries.length);
    let p = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      all.set(e.labelRefs, p);
      p += e.labelRefs.length;
      counts[i] = e.labelRefs.length;
    }
    return resolveLabelRefs(all, counts);
  }

  async function resolveLabelRefs(refs: Uint32Array, counts: ArrayLike<number>): Promise<Labels[]> {
    const strings = await h.symbols.lookupMany(refs);
    const out: Labels[] = new Array(counts.length);
    let p = 0;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]! / 2;
      const labels: Label[] = new Array(n);
      for (let j = 0; j < n; j++, p += 2) labels[j] = { name: strings[p]!, value: strings[p + 1]! };
      out[i] = labels;
    }
    return out;
  }

  async function seriesMany(refs: ArrayLike<number>): Promise<SeriesEntry[]> {
    const entries = await readSeriesRefs(refs);
    const labels = await resolveLabels(entries);
    return entries.map((e, i) => ({ ref: e.ref, labels: labels[i]!, chunks: e.chunks }));
  }

  const idx: IndexReader = {
    name: file,
    header: h,
    version: h.indexVersion,
    toc,
    seriesSectionEnd: seriesEnd,
    labelNames: async () => table.labelNames(),
    labelValues: (name) => table.labelValues(name),
    locatePostings: (name, values) => table.locate(name, values),
    readPostings,
    postings,
    allPostings() {
      allCache ??= allPostingsOf().catch((err: unknown) => {
        allCache = undefined;
        throw err;
      });
      return allCache;
    },
    postingsForMatchers: (matchers) => postingsForMatchers(idx, matchers),
    seriesOffset: (ref) => ref * 16,
    readSeriesRefs,
    resolveLabels,
    resolveLabelRefs,
    async series(ref) {
      return (await seriesMany([ref]))[0]!;
    },
    seriesMany,
  };
  return idx;
}
