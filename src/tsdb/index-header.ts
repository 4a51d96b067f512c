/**
 * The index-header: the part of a block's index a store gateway keeps (TOC, symbol table, a
 * 1-in-32 sample of the postings offset table), as Thanos' binary index-header does. Built once
 * from range reads of the remote `index`, cached on local disk, loaded back on restart; postings,
 * series and the unsampled table entries are then read by range on demand.
 *
 * Serialized layout (Meridian index-header v1, all integers big-endian):
 * ```
 * 0   magic 0x4D524948 ("MRIH") 4B | version 1B (=1) | index version 1B | reserved 2B
 * 8   index file size 8B
 * 16  index TOC: 6 × 8B section offsets (symbols, series, label indices, label offset table,
 *     postings, postings offset table)
 * 64  exact copy of the index's symbol table section      (len | #symbols | strings | CRC32C)
 *     exact copy of the index's postings offset table      (len | #entries | entries | CRC32C)
 * end-28: offset of the symbols copy 8B | offset of the table copy 8B | end of postings lists 8B |
 *     CRC32C 4B over bytes [0, 64) and the 24 trailer bytes before it
 * ```
 * The copied sections keep their own CRCs, which are verified when the header is loaded.
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { crc32c } from "./crc32c.ts";
import { Decoder, hex32, readBe32, writeBe32 } from "./decoder.ts";
import { CorruptionError, readOrCorrupt } from "./errors.ts";
import { type IndexToc, postingsEnd, readIndexLayout } from "./index-toc.ts";
import { DEFAULT_POSTINGS_SAMPLING, type PostingsOffsetTable, type PostingsTableSample, createPostingsOffsetTable, scanPostingsTable } from "./postings-offset-table.ts";
import { DEFAULT_RESIDENT_SYMBOLS, type SymbolSample, type SymbolTable, createSymbolTable, scanSymbols } from "./symbols.ts";

/** Magic of Meridian's serialized index-header. */
export const INDEX_HEADER_MAGIC = 0x4d524948;
/** Serialized index-header format version. */
export const INDEX_HEADER_VERSION = 1;
const PREFIX_LEN = 64;
const TRAILER_LEN = 28;
const SECTION = "index-header";

/** Options for building or loading an index-header. */
export interface IndexHeaderOptions {
  /** Keep every n-th postings offset table value per label name (default 32, as Thanos). */
  postingsSampling?: number;
  /** Symbol tables with at most this many symbols are kept decoded (default 2048). */
  residentSymbols?: number;
  /** Max decoded 32-symbol blocks cached for larger tables (default 512). */
  symbolCacheBlocks?: number;
}

/** Where a copied section lives: `reader` at `offset` (the `len` field of the section). */
interface SectionSource {
  readonly reader: ByteRangeReader;
  readonly offset: number;
  /** Whole section length: len field + content + CRC. */
  readonly length: number;
}

/** The resident part of an index. Pass it to `openIndexReader` to skip re-reading it. */
export interface IndexHeader {
  /** TSDB index format version (2, or 3 which is identical). */
  readonly indexVersion: number;
  /** Size of the original index file. */
  readonly indexSize: number;
  /** Original index TOC (absolute offsets in the index). */
  readonly toc: IndexToc;
  /** Absolute index offset where the postings lists end (bounds the last list). */
  readonly postingsEnd: number;
  readonly symbols: SymbolTable;
  readonly postingsTable: PostingsOffsetTable;
  /** @internal Where the symbol table and postings offset table bytes can be re-read from. */
  readonly sources: { readonly symbols: SectionSource; readonly postingsTable: SectionSource };
  /** @internal The symbol table's resident sample (see {@link reopenIndexHeader}). */
  readonly symbolSample: SymbolSample;
}

type Layout = { indexVersion: number; indexSize: number; toc: IndexToc; postingsEnd: number };

/** A header over samples already made, reading unsampled entries from `reader`. */
function fromSamples(layout: Layout, reader: ByteRangeReader, symbolsAt: number, tableAt: number, symSample: SymbolSample, tableSample: PostingsTableSample, opts: IndexHeaderOptions): IndexHeader {
  return {
    indexVersion: layout.indexVersion,
    indexSize: layout.indexSize,
    toc: layout.toc,
    postingsEnd: layout.postingsEnd,
    symbols: createSymbolTable(symSample, reader, symbolsAt + 8, opts.symbolCacheBlocks),
    postingsTable: createPostingsOffsetTable(tableSample, reader, tableAt + 8),
    sources: {
      symbols: { reader, offset: symbolsAt, length: symSample.dataLength + 12 },
      postingsTable: { reader, offset: tableAt, length: tableSample.entriesLength + 12 },
    },
    symbolSample: symSample,
  };
}

async function assemble(layout: Layout, reader: ByteRangeReader, symbolsAt: number, tableAt: number, opts: IndexHeaderOptions): Promise<IndexHeader> {
  const [symSample, tableSample] = await Promise.all([
    scanSymbols(reader, symbolsAt, opts.residentSymbols ?? DEFAULT_RESIDENT_SYMBOLS),
    scanPostingsTable(reader, tableAt, layout.postingsEnd, opts.postingsSampling ?? DEFAULT_POSTINGS_SAMPLING),
  ]);
  return fromSamples(layout, reader, symbolsAt, tableAt, symSample, tableSample, opts);
}

/**
 * Builds the index-header from range reads of an index (the TOC, then one chunked pass over the
 * symbol table and the postings offset table, CRCs checked). Non-resident parts are later read
 * from `index` itself.
 */
export async function buildIndexHeader(index: ByteRangeReader, opts: IndexHeaderOptions = {}): Promise<IndexHeader> {
  const layout = await readIndexLayout(index);
  return assemble(
    { indexVersion: layout.version, indexSize: layout.size, toc: layout.toc, postingsEnd: postingsEnd(layout) },
    index,
    layout.toc.symbols,
    layout.toc.postingsTable,
    opts,
  );
}

/**
 * Serializes a header (layout in the module doc) as a sequence of chunks, so a large one can be
 * streamed to disk. Copied sections are re-read from where the header came from.
 */
export async function* indexHeaderChunks(header: IndexHeader, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  const prefix = new Uint8Array(PREFIX_LEN);
  const dv = new DataView(prefix.buffer);
  dv.setUint32(0, INDEX_HEADER_MAGIC);
  prefix[4] = INDEX_HEADER_VERSION;
  prefix[5] = header.indexVersion;
  const t = header.toc;
  const put64 = (b: DataView, at: number, v: number): void => {
    b.setUint32(at, Math.floor(v / 4294967296));
    b.setUint32(at + 4, v >>> 0);
  };
  put64(dv, 8, header.indexSize);
  [t.symbols, t.series, t.labelIndices, t.labelIndicesTable, t.postings, t.postingsTable].forEach((v, i) => put64(dv, 16 + i * 8, v));
  yield prefix;
  let pos = PREFIX_LEN;
  const symbolsAt = pos;
  for (const src of [header.sources.symbols, header.sources.postingsTable]) {
    for (let off = 0; off < src.length; off += chunkSize) {
      const n = Math.min(chunkSize, src.length - off);
      const at = src.offset + off;
      yield await readOrCorrupt(src.reader.name, SECTION, at, () => src.reader.read(at, n));
    }
    pos += src.length;
  }
  const tableAt = symbolsAt + header.sources.symbols.length;
  const trailer = new Uint8Array(TRAILER_LEN);
  const tv = new DataView(trailer.buffer);
  put64(tv, 0, symbolsAt);
  put64(tv, 8, tableAt);
  put64(tv, 16, header.postingsEnd);
  writeBe32(trailer, 24, crc32c(trailer.subarray(0, 24), crc32c(prefix)));
  yield trailer;
}

/** Serializes a header into one byte array (see {@link indexHeaderChunks} for streaming). */
export async function serializeIndexHeader(header: IndexHeader): Promise<Uint8Array> {
  // The size is known up front: fill one array as the chunks arrive instead of collecting them.
  const out = new Uint8Array(PREFIX_LEN + header.sources.symbols.length + header.sources.postingsTable.length + TRAILER_LEN);
  let p = 0;
  for await (const c of indexHeaderChunks(header)) {
    if (p + c.length > out.length) throw new Error(`index-header of ${header.sources.symbols.reader.name}: serialized chunks exceed the computed size ${out.length}`);
    out.set(c, p);
    p += c.length;
  }
  if (p !== out.length) throw new Error(`index-header of ${header.sources.symbols.reader.name}: serialized ${p} bytes, computed ${out.length}`);
  return out;
}

/**
 * Builds the index-header and its serialized bytes with one read of each copied section: the
 * pieces fetched for the scans are kept until they are copied into the serialized form (instead of
 * fetched again from the bucket), then dropped. The returned header reads `index` afterwards, as
 * one from {@link buildIndexHeader}.
 */
export async function buildSerializedIndexHeader(index: ByteRangeReader, opts: IndexHeaderOptions = {}): Promise<{ header: IndexHeader; bytes: Uint8Array }> {
  const rec = recordingReader(index);
  try {
    const header = await buildIndexHeader(rec, opts);
    return { header, bytes: await serializeIndexHeader(header) };
  } finally {
    rec.stop();
  }
}

/**
 * A reader that keeps what it reads from `inner` and answers later reads covered by kept pieces
 * from them, until {@link stop} (then it only passes reads through).
 */
function recordingReader(inner: ByteRangeReader): ByteRangeReader & { stop(): void } {
  let pieces: { at: number; bytes: Uint8Array }[] | undefined = [];
  let sorted = true;
  /** `[at, at+n)` from contiguous kept pieces, or undefined when not fully covered. */
  const covered = (at: number, n: number): Uint8Array | undefined => {
    if (!pieces || pieces.length === 0) return undefined;
    if (!sorted) {
      pieces.sort((a, b) => a.at - b.at);
      sorted = true;
    }
    let i = pieces.findIndex((p) => p.at <= at && at < p.at + p.bytes.length);
    if (i < 0) return undefined;
    const first = pieces[i]!;
    if (at + n <= first.at + first.bytes.length) return first.bytes.subarray(at - first.at, at - first.at + n);
    const out = new Uint8Array(n);
    let pos = at;
    for (; pos < at + n && i < pieces.length; i++) {
      const p = pieces[i]!;
      if (p.at > pos) return undefined; // a gap
      const from = pos - p.at;
      const take = Math.min(p.bytes.length - from, at + n - pos);
      if (take <= 0) continue;
      out.set(p.bytes.subarray(from, from + take), pos - at);
      pos += take;
    }
    return pos === at + n ? out : undefined;
  };
  return {
    name: inner.name,
    size: () => inner.size(),
    async read(at, n) {
      const hit = covered(at, n);
      if (hit) return hit;
      const bytes = await inner.read(at, n);
      if (pieces && bytes.length > 0) {
        pieces.push({ at, bytes });
        sorted = false;
      }
      return bytes;
    },
    stop() {
      pieces = undefined;
    },
  };
}

/**
 * Loads a serialized header through a reader over it (a local file in the store's data dir).
 * Checks magic, version and CRCs, rebuilds the samples with one pass over the copied sections,
 * and afterwards reads unsampled entries from `file` by range.
 */
export async function loadIndexHeader(file: ByteRangeReader, opts: IndexHeaderOptions = {}): Promise<IndexHeader> {
  const name = file.name;
  const size = await file.size();
  if (size < PREFIX_LEN + TRAILER_LEN) throw new CorruptionError(name, SECTION, 0, `file too small for an index-header (${size} bytes)`);
  const [prefix, trailer] = await Promise.all([
    readOrCorrupt(name, SECTION, 0, () => file.read(0, PREFIX_LEN)),
    readOrCorrupt(name, SECTION, size - TRAILER_LEN, () => file.read(size - TRAILER_LEN, TRAILER_LEN)),
  ]);
  const p = new Decoder(prefix, name, SECTION, 0);
  const magic = p.be32();
  if (magic !== INDEX_HEADER_MAGIC) throw p.corrupt(`invalid magic number ${hex32(magic)} (want ${hex32(INDEX_HEADER_MAGIC)})`, 0);
  const version = p.u8();
  if (version !== INDEX_HEADER_VERSION) throw p.corrupt(`unsupported index-header version ${version}`, 4);
  const want = readBe32(trailer, 24);
  const got = crc32c(trailer.subarray(0, 24), crc32c(prefix));
  if (want !== got) throw new CorruptionError(name, SECTION, size - TRAILER_LEN, `CRC32C mismatch: stored ${hex32(want)}, computed ${hex32(got)}`);
  const indexVersion = p.u8();
  p.skip(2);
  const indexSize = p.be64();
  const toc: IndexToc = { symbols: p.be64(), series: p.be64(), labelIndices: p.be64(), labelIndicesTable: p.be64(), postings: p.be64(), postingsTable: p.be64() };
  const td = new Decoder(trailer, name, SECTION, size - TRAILER_LEN);
  const symbolsAt = td.be64();
  const tableAt = td.be64();
  const end = td.be64();
  if (symbolsAt !== PREFIX_LEN || tableAt <= symbolsAt || tableAt >= size - TRAILER_LEN) {
    throw new CorruptionError(name, SECTION, size - TRAILER_LEN, `section offsets out of range (symbols ${symbolsAt}, postings offset table ${tableAt}, file ${size})`);
  }
  const header = await assemble({ indexVersion, indexSize, toc, postingsEnd: end }, file, symbolsAt, tableAt, opts);
  if (header.sources.symbols.offset + header.sources.symbols.length !== tableAt || tableAt + header.sources.postingsTable.length !== size - TRAILER_LEN) {
    throw new CorruptionError(name, SECTION, tableAt, "copied sections do not fill the file");
  }
  return header;
}

/**
 * `header` switched over to its serialized copy in `file` (just written from
 * {@link indexHeaderChunks}), without scanning the copy again: the samples stay, and unsampled
 * entries are then read from `file`. Building a header and then loading the file it was written to
 * would decode every entry twice; this is the cheap second half. Only the file size is checked
 * (the sections' CRCs were verified when `header` was built, and are on every later
 * {@link loadIndexHeader}).
 */
export async function reopenIndexHeader(header: IndexHeader, file: ByteRangeReader, opts: IndexHeaderOptions = {}): Promise<IndexHeader> {
  const symbolsAt = PREFIX_LEN;
  const tableAt = symbolsAt + header.sources.symbols.length;
  const want = tableAt + header.sources.postingsTable.length + TRAILER_LEN;
  const size = await file.size();
  if (size !== want) throw new CorruptionError(file.name, SECTION, Math.min(size, want), `file has ${size} bytes, the header written to it has ${want}`);
  return fromSamples(header, file, symbolsAt, tableAt, header.symbolSample, header.postingsTable.sample, opts);
}
