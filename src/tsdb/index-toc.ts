/**
 * Index file header (magic, version) and table of contents (last 52 bytes). Reading these two is
 * the first step of opening any index; everything else is located from the TOC.
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { CorruptionError, readOrCorrupt } from "./errors.ts";
import { Decoder, verifyCrc } from "./decoder.ts";

/** Index magic number. */
export const INDEX_MAGIC = 0xbaaad700;
/** Length of magic + version. */
export const INDEX_HEADER_LEN = 5;
/** Length of the TOC: 6 × 8-byte offsets + CRC32C. */
export const INDEX_TOC_LEN = 52;

/** Absolute section offsets from the TOC. 0 means "section absent". */
export interface IndexToc {
  readonly symbols: number;
  readonly series: number;
  readonly labelIndices: number;
  readonly labelIndicesTable: number;
  readonly postings: number;
  readonly postingsTable: number;
}

/** What every index reader knows first: version, size, TOC. */
export interface IndexLayout {
  readonly version: number;
  readonly size: number;
  readonly toc: IndexToc;
}

/**
 * Reads and validates magic, version (2, or 3 which is laid out identically) and the TOC CRC.
 * Index v1 (Prometheus 2.0 only) is rejected with a clear message.
 */
export async function readIndexLayout(reader: ByteRangeReader): Promise<IndexLayout> {
  const file = reader.name;
  const size = await reader.size();
  if (size < INDEX_HEADER_LEN + INDEX_TOC_LEN) {
    throw new CorruptionError(file, "header", 0, `file too small for an index (${size} bytes, need at least ${INDEX_HEADER_LEN + INDEX_TOC_LEN})`);
  }
  const head = await readOrCorrupt(file, "header", 0, () => reader.read(0, INDEX_HEADER_LEN));
  const hd = new Decoder(head, file, "header", 0);
  const magic = hd.be32();
  if (magic !== INDEX_MAGIC) throw hd.corrupt(`invalid magic number 0x${magic.toString(16)} (want 0x${INDEX_MAGIC.toString(16)})`, 0);
  const version = hd.u8();
  if (version === 1) throw hd.corrupt("index format v1 (Prometheus 2.0) is not supported", 4);
  if (version !== 2 && version !== 3) throw hd.corrupt(`unknown index version ${version}`, 4);

  const tocOffset = size - INDEX_TOC_LEN;
  const tb = await readOrCorrupt(file, "TOC", tocOffset, () => reader.read(tocOffset, INDEX_TOC_LEN));
  const d = new Decoder(tb, file, "TOC", tocOffset);
  verifyCrc(d, 0, 48, 48);
  const toc: IndexToc = {
    symbols: d.be64(),
    series: d.be64(),
    labelIndices: d.be64(),
    labelIndicesTable: d.be64(),
    postings: d.be64(),
    postingsTable: d.be64(),
  };
  for (const [k, v] of Object.entries(toc)) {
    if (v > tocOffset) throw new CorruptionError(file, "TOC", tocOffset, `section ${k} offset ${v} is beyond the TOC`);
  }
  if (toc.symbols === 0 || toc.postingsTable === 0) {
    throw new CorruptionError(file, "TOC", tocOffset, "symbols or postings offset table missing");
  }
  return { version, size, toc };
}

/**
 * Where the postings lists end: the first section written after them (label offset table in
 * 2.42, postings offset table when that is absent). Used to bound the last postings list.
 */
export function postingsEnd(layout: IndexLayout): number {
  const t = layout.toc;
  if (t.labelIndicesTable > t.postings) return t.labelIndicesTable;
  return t.postingsTable;
}
