/**
 * Opening a Prometheus TSDB block through byte-range readers, and a convenience series read.
 *
 * ## API summary (`src/tsdb/`) — what the store gateway and sidecar build on
 *
 * - `block.ts`: `openBlock(open, opts?) → Block { name, meta, index, chunks, tombstones }` where
 *   `open(relPath)` returns a `ByteRangeReader` (or null when the file is absent) for `meta.json`,
 *   `index`, `tombstones`, `chunks/000001`...; opts: `meta` (already parsed), `indexHeader`
 *   (from cache), `name`, plus reader tuning. `readSeries(block, matchers, mint, maxt, opts?)` →
 *   `BlockSeries[]` (`{ ref, labels, chunks: { ref, mint, maxt, encoding, data }[], deleted? }`),
 *   sorted by labels, chunks overlapping [mint, maxt], fully deleted chunks dropped.
 * - `meta.ts`: `BlockMeta`, `parseBlockMeta(text, name)` (throws `BlockMetaError`),
 *   `serializeBlockMeta(meta)`, `blockExternalLabels(meta)`, `isUlid(s)`.
 * - `index-reader.ts`: `openIndexReader(reader, header?, opts?) → IndexReader` with
 *   `labelNames()`, `labelValues(name)`, `postings(name, values)`, `allPostings()`,
 *   `postingsForMatchers(matchers)`, `series(ref)`, `seriesMany(refs)`; "where is it" forms for
 *   batching/caching: `locatePostings(name, values) → {name, value, offset, length}[]`,
 *   `readPostings(locations)`, `seriesOffset(ref)`, `readSeriesRefs(refs)` + `resolveLabels`.
 * - `index-header.ts`: `buildIndexHeader(indexReader, opts?)`, `serializeIndexHeader(h)` /
 *   `indexHeaderChunks(h)` (streaming), `loadIndexHeader(fileReader, opts?)`.
 * - `postings.ts`: `decodePostings`, `intersect`, `intersectAll`, `union`, `subtract`,
 *   `postingsForMatchers(source, matchers)` (all four matcher types, Prometheus semantics).
 * - `series.ts`: `ChunkMeta { ref, mint, maxt }` (ref = segment << 32 | offset as a Number),
 *   `splitChunkRef`, `chunkRef`, `decodeSeriesEntry`, `seriesEntryLength`.
 * - `chunk-reader.ts`: `openChunkReader(seq => reader, opts?) → { chunk(ref), chunks(refs) }` →
 *   `RawChunk { ref, encoding, data }` (CRC checked), `parseChunkRecord`, `segmentFileName`.
 * - `tombstones.ts`: `parseTombstones(bytes, file)`, `NO_TOMBSTONES`, `applyTombstones(t, v, iv)`,
 *   `isFullyDeleted`, `mergeIntervals`.
 * - `errors.ts`: `CorruptionError { file, section, offset }`, `UnsupportedEncodingError`,
 *   `ChunkEncoding` (XOR = 1, HISTOGRAM = 2, FLOAT_HISTOGRAM = 3 — the on-disk byte, not the
 *   StoreAPI enum), `assertXorEncoding`.
 * - `decode.ts`: `decodeBlockSeries(wasm, blockName, series, mint?, maxt?) → FloatSeries[]` (one
 *   WASM batch; histogram chunks → `UnsupportedEncodingError`; broken XOR → `CorruptionError`
 *   naming `<block>/chunks/NNNNNN` and the offset; tombstones applied).
 * - `ranges.ts`: `mergeRanges(ranges, maxGap, maxMerged)`, `readRanges(reader, ranges, section, maxGap)`.
 * - `symbols.ts`: `SymbolTable { count, lookup, lookupMany, find, all }` (tables > 2048 symbols
 *   keep 1 in 32 resident and read the rest by range); `postings-offset-table.ts`:
 *   `PostingsOffsetTable { labelNames, labelValues, locate }` (1 in 32 values per name resident).
 *
 * Every read goes through `ByteRangeReader` (`read(offset, length)`), never the whole index;
 * `TruncatedError`s from readers become `CorruptionError`s naming file, section and offset.
 * Chunk refs and series refs are plain Numbers (exact below 2^53; segment index < 2^21).
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { compareLabels, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { type ChunkReader, type ChunkReaderOptions, openChunkReader, segmentFileName } from "./chunk-reader.ts";
import { CorruptionError, readOrCorrupt } from "./errors.ts";
import type { IndexHeader } from "./index-header.ts";
import { type IndexReader, type IndexReaderOptions, openIndexReader } from "./index-reader.ts";
import { type BlockMeta, parseBlockMeta } from "./meta.ts";
import type { ChunkMeta } from "./series.ts";
import { type Interval, NO_TOMBSTONES, type Tombstones, isFullyDeleted, parseTombstones } from "./tombstones.ts";

/** Opens a file of the block by path relative to the block directory; null/undefined when absent. */
export type BlockFileOpener = (relPath: string) => ByteRangeReader | null | undefined | Promise<ByteRangeReader | null | undefined>;

/** Options of {@link openBlock}. */
export interface OpenBlockOptions extends IndexReaderOptions, ChunkReaderOptions {
  /** meta.json already fetched and parsed (skips reading it). */
  meta?: BlockMeta;
  /** Index-header loaded from a cache (skips building it). */
  indexHeader?: IndexHeader;
  /** Name for messages (default: the meta's ULID). */
  name?: string;
}

/** An opened block. */
export interface Block {
  readonly name: string;
  readonly meta: BlockMeta;
  readonly index: IndexReader;
  readonly chunks: ChunkReader;
  readonly tombstones: Tombstones;
}

/** True for "file does not exist" errors from the filesystem or an object store. */
function isNotFound(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === "ObjectNotFoundError" || e.code === "ENOENT" || e.code === "NoSuchKey";
}

async function readWhole(reader: ByteRangeReader, section: string): Promise<Uint8Array> {
  const size = await reader.size();
  return readOrCorrupt(reader.name, section, 0, () => reader.read(0, size));
}

/**
 * Opens a block: meta.json (unless given), the index (building the index-header unless given),
 * tombstones (absent = none) and a lazy chunk reader over `chunks/NNNNNN`.
 */
export async function openBlock(open: BlockFileOpener, opts: OpenBlockOptions = {}): Promise<Block> {
  let meta = opts.meta;
  if (!meta) {
    const r = await open("meta.json");
    if (!r) throw new Error(`${opts.name ?? "block"}: meta.json not found`);
    meta = parseBlockMeta(new TextDecoder().decode(await readWhole(r, "meta.json")), r.name);
  }
  const name = opts.name ?? meta.ulid;
  const indexFile = await open("index");
  if (!indexFile) throw new Error(`${name}: index not found`);
  // Thanos records file sizes in meta.json: use them to report truncated uploads plainly.
  const sizes = new Map<string, number>();
  for (const f of meta.thanos?.files ?? []) if (f.size_bytes !== undefined) sizes.set(f.rel_path, f.size_bytes);
  const indexWant = sizes.get("index");
  if (indexWant !== undefined && !opts.indexHeader) {
    const size = await indexFile.size();
    if (size !== indexWant) {
      throw new CorruptionError(indexFile.name, "file", Math.min(size, indexWant), `file has ${size} bytes, meta.json says ${indexWant}${size < indexWant ? " (truncated)" : ""}`);
    }
  }
  const [index, tombstones] = await Promise.all([
    openIndexReader(indexFile, opts.indexHeader, opts),
    (async (): Promise<Tombstones> => {
      try {
        const r = await open("tombstones");
        if (!r) return NO_TOMBSTONES;
        return parseTombstones(await readWhole(r, "tombstones"), r.name);
      } catch (err) {
        if (isNotFound(err)) return NO_TOMBSTONES;
        throw err;
      }
    })(),
  ]);
  const chunks = openChunkReader(async (seq) => {
    const path = `chunks/${segmentFileName(seq)}`;
    const r = await open(path);
    if (!r) throw new Error(`${name}: chunk segment ${path} not found`);
    return r;
  }, { ...opts, expectedSegmentSize: (seq) => sizes.get(`chunks/${segmentFileName(seq)}`) });
  return { name, meta, index, chunks, tombstones };
}

/** A chunk with its bytes. `encoding` is the on-disk byte (1 = XOR). */
export interface BlockChunk extends ChunkMeta {
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** One series of {@link readSeries}. */
export interface BlockSeries {
  readonly ref: number;
  readonly labels: Labels;
  readonly chunks: BlockChunk[];
  /** Deleted intervals to apply after decoding, when the series has tombstones. */
  readonly deleted?: readonly Interval[];
}

/** Options of {@link readSeries}. */
export interface ReadSeriesOptions {
  /** Series per batch of index/chunk reads (default 4096). */
  batchSize?: number;
  /** Return labels and chunk metas only, without chunk bytes (data empty, encoding 0). */
  skipChunks?: boolean;
}

/**
 * Series matching `matchers` with their chunks overlapping [mint, maxt] (inclusive ms), sorted
 * by labels (index order). Series without such chunks are left out. Chunk bytes are raw; decode
 * XOR ones with `src/wasm/xor.ts` and then apply `deleted` with `applyTombstones`.
 */
export async function readSeries(block: Block, matchers: readonly Matcher[], mint: number, maxt: number, opts: ReadSeriesOptions = {}): Promise<BlockSeries[]> {
  const refs = await block.index.postingsForMatchers(matchers);
  const batch = opts.batchSize ?? 4096;
  const out: BlockSeries[] = [];
  for (let i = 0; i < refs.length; i += batch) {
    const entries = await block.index.seriesMany(refs.subarray(i, i + batch));
    const metas: ChunkMeta[][] = entries.map((e) => {
      const deleted = block.tombstones.get(e.ref);
      return e.chunks.filter((c) => c.maxt >= mint && c.mint <= maxt && !isFullyDeleted(c.mint, c.maxt, deleted));
    });
    const wanted: number[] = [];
    if (!opts.skipChunks) for (const m of metas) for (const c of m) wanted.push(c.ref);
    const raw = opts.skipChunks ? [] : await block.chunks.chunks(wanted);
    let k = 0;
    for (let j = 0; j < entries.length; j++) {
      const e = entries[j]!;
      const m = metas[j]!;
      if (m.length === 0) continue;
      const chunks: BlockChunk[] = m.map((c) => {
        if (opts.skipChunks) return { ...c, encoding: 0, data: new Uint8Array(0) };
        const r = raw[k++]!;
        return { ref: c.ref, mint: c.mint, maxt: c.maxt, encoding: r.encoding, data: r.data };
      });
      const deleted = block.tombstones.get(e.ref);
      out.push(deleted ? { ref: e.ref, labels: e.labels, chunks, deleted } : { ref: e.ref, labels: e.labels, chunks });
    }
  }
  // Index order is label order already; sort defensively for indexes written by other tools.
  for (let i = 1; i < out.length; i++) {
    if (compareLabels(out[i - 1]!.labels, out[i]!.labels) > 0) {
      out.sort((a, b) => compareLabels(a.labels, b.labels));
      break;
    }
  }
  return out;
}
