/**
 * The index symbol table: every label name and value of a block, sorted, referenced by ordinal
 * (index v2). Small tables are kept fully decoded; large ones keep every 32nd entry's offset (as
 * Prometheus and Thanos do) and read the rest by range, with a bounded cache of decoded blocks.
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { compareStrings } from "../model/labels.ts";
import { Decoder, decodeUtf8 } from "./decoder.ts";
import { CorruptionError, readOrCorrupt } from "./errors.ts";
import { readRanges } from "./ranges.ts";
import { ByteScratch, isValidUtf8 } from "./byte-scan.ts";
import { SectionStream } from "./section-stream.ts";

/** Symbols per sampled block (Prometheus' `symbolFactor`). */
export const SYMBOL_FACTOR = 32;

/** Gap up to which reads of neighbouring symbol blocks are merged into one request. */
const SYMBOL_READ_GAP = 64 * 1024;

/**
 * Decoded 32-symbol blocks cached per table by default. Small on purpose: a store holds one table
 * per block, and `lookupMany` keeps what one batch needs even when the cache evicts it.
 */
export const DEFAULT_SYMBOL_CACHE_BLOCKS = 512;

/**
 * Tables with at most this many symbols are kept fully decoded by default. Larger ones keep 1 in
 * 32 (resident memory must stay a small fraction of the index size in the store gateway).
 */
export const DEFAULT_RESIDENT_SYMBOLS = 2048;

/** Lookup of symbol strings by ordinal and of ordinals by string. */
export interface SymbolTable {
  /** Number of symbols. */
  readonly count: number;
  /** The symbol with ordinal `ref`. Throws a {@link CorruptionError} for an unknown ref. */
  lookup(ref: number): Promise<string>;
  /** Many symbols at once; reads each needed block once. Result is in the order of `refs`. */
  lookupMany(refs: ArrayLike<number>): Promise<string[]>;
  /** Synchronous lookup when the symbol is resident (always for small tables), else undefined. */
  lookupResident(ref: number): string | undefined;
  /** Ordinal of `value`, or -1 when it is not a symbol (binary search; the table is sorted). */
  find(value: string): Promise<number>;
  /** Every symbol in order (reads the whole table when not resident). */
  all(): Promise<string[]>;
}

/**
 * Where a sampled table's strings live: `offsets[i]` is the position of symbol `i*32` relative to
 * the first string, `firsts[i]` that symbol's text.
 */
export interface SymbolSample {
  readonly count: number;
  /** Byte length of all strings (from the first string to the CRC). */
  readonly dataLength: number;
  readonly offsets: readonly number[];
  readonly firsts: readonly string[];
  /** Every symbol, when the table is small enough to keep. */
  readonly resident?: readonly string[];
}

/**
 * Scans the symbol table section at `sectionOffset` of `reader` (len | count | strings | CRC),
 * verifying the CRC and sort order, and returns its sample. `residentLimit` symbols or fewer are
 * kept fully decoded.
 */
export async function scanSymbols(reader: ByteRangeReader, sectionOffset: number, residentLimit = DEFAULT_RESIDENT_SYMBOLS): Promise<SymbolSample> {
  const file = reader.name;
  const lenBytes = await readOrCorrupt(file, "symbols", sectionOffset, () => reader.read(sectionOffset, 4));
  const len = new Decoder(lenBytes, file, "symbols", sectionOffset).be32();
  if (len < 4) throw new CorruptionError(file, "symbols", sectionOffset, `section length ${len} too small`);
  const dataStart = sectionOffset + 8;
  const end = sectionOffset + 4 + len;
  const s = new SectionStream(reader, "symbols", sectionOffset + 4, end, sectionOffset + 4);
  const count = await s.next((d) => d.be32());
  const keepAll = count <= residentLimit;
  const resident: string[] = [];
  const offsets: number[] = [];
  const firsts: string[] = [];
  // Strings are made only for the symbols kept (every 32nd, or all of a small table); order and
  // UTF-8 are checked on the bytes, against a copy of the previous symbol.
  const prev = new ByteScratch();
  await s.forEach(count, (d, i) => {
    const at = d.pos;
    const n = d.uvarint32();
    const start = d.pos;
    d.skip(n);
    const b = d.bytes;
    const stop = start + n;
    if (!isValidUtf8(b, start, stop)) throw d.corrupt("invalid UTF-8 in string", at);
    if (prev.isSet && prev.compare(b, start, stop) >= 0) {
      const str = decodeUtf8(b.subarray(start, stop));
      throw d.corrupt(`symbol ${i} ${JSON.stringify(str)} not sorted after ${JSON.stringify(decodeUtf8(prev.view()))}`, at);
    }
    prev.set(b, start, stop);
    const sampled = i % SYMBOL_FACTOR === 0;
    if (sampled || keepAll) {
      const str = decodeUtf8(b.subarray(start, stop));
      if (sampled) {
        offsets.push(d.base + at - dataStart);
        firsts.push(str);
      }
      if (keepAll) resident.push(str);
    }
  });
  await s.finish();
  return { count, dataLength: end - dataStart, offsets, firsts, ...(keepAll ? { resident } : {}) };
}

/**
 * A {@link SymbolTable} over a sample; non-resident strings are read from `source` where the first
 * string is at absolute offset `dataOffset` (the index itself, or a cached index-header file).
 * `cacheBlocks` bounds the 32-symbol blocks kept (LRU); strings are decoded on first use.
 */
export function createSymbolTable(sample: SymbolSample, source: ByteRangeReader, dataOffset: number, cacheBlocks = DEFAULT_SYMBOL_CACHE_BLOCKS): SymbolTable {
  const { count, offsets, firsts } = sample;
  const resident = sample.resident;
  const cache = new Map<number, SymBlock>();
  const file = source.name;

  const blockEnd = (b: number): number => (b + 1 < offsets.length ? offsets[b + 1]! : sample.dataLength);

  /** Finds the string boundaries of a block (no string allocation) and checks its first symbol. */
  function indexBlock(b: number, view: Uint8Array, abs: number): SymBlock {
    const bytes = view.slice(); // own copy: do not pin a large merged read in the cache
    const d = new Decoder(bytes, file, "symbols", abs);
    const n = Math.min(SYMBOL_FACTOR, count - b * SYMBOL_FACTOR);
    const starts = new Uint32Array(n);
    const ends = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const len = d.uvarint32();
      starts[i] = d.pos;
      d.skip(len);
      ends[i] = d.pos;
    }
    const blk: SymBlock = { bytes, abs, starts, ends, strings: new Array(n) };
    const first = symbolAt(blk, 0);
    if (first !== firsts[b]) throw d.corrupt(`symbol block ${b} starts with ${JSON.stringify(first)}, expected ${JSON.stringify(firsts[b])}`, 0);
    return blk;
  }

  function symbolAt(blk: SymBlock, i: number): string {
    let s = blk.strings[i];
    if (s === undefined) {
      const d = new Decoder(blk.bytes, file, "symbols", blk.abs);
      s = blk.strings[i] = decodeUtf8(blk.bytes.subarray(blk.starts[i]!, blk.ends[i]!), d, blk.starts[i]!);
    }
    return s;
  }

  function remember(b: number, blk: SymBlock): void {
    cache.set(b, blk);
    if (cache.size > cacheBlocks) cache.delete(cache.keys().next().value!);
  }

  /** Blocks `ids`, reading all missing ones with merged range reads. */
  async function loadBlocks(ids: Iterable<number>): Promise<Map<number, SymBlock>> {
    const out = new Map<number, SymBlock>();
    const missing: number[] = [];
    for (const b of ids) {
      const hit = cache.get(b);
      if (hit) {
        cache.delete(b);
        cache.set(b, hit);
        out.set(b, hit);
      } else missing.push(b);
    }
    if (missing.length > 0) {
      const ranges = missing.map((b) => ({ offset: dataOffset + offsets[b]!, length: blockEnd(b) - offsets[b]! }));
      const views = await readRanges(source, ranges, "symbols", SYMBOL_READ_GAP);
      missing.forEach((b, i) => {
        const blk = indexBlock(b, views[i]!, ranges[i]!.offset);
        remember(b, blk);
        out.set(b, blk);
      });
    }
    return out;
  }

  async function loadBlock(b: number): Promise<SymBlock> {
    return (await loadBlocks([b])).get(b)!;
  }

  function checkRef(ref: number): void {
    if (!(ref >= 0 && ref < count && Number.isInteger(ref))) {
      throw new CorruptionError(file, "symbols", dataOffset, `unknown symbol reference ${ref} (table has ${count})`);
    }
  }

  const table: SymbolTable = {
    count,
    lookupResident(ref) {
      if (resident) return resident[ref];
      const blk = cache.get(Math.floor(ref / SYMBOL_FACTOR));
      return blk ? symbolAt(blk, ref % SYMBOL_FACTOR) : undefined;
    },
    async lookup(ref) {
      checkRef(ref);
      if (resident) return resident[ref]!;
      const blk = await loadBlock(Math.floor(ref / SYMBOL_FACTOR));
      return symbolAt(blk, ref % SYMBOL_FACTOR);
    },
    async lookupMany(refs) {
      const out: string[] = new Array(refs.length);
      if (resident) {
        for (let i = 0; i < refs.length; i++) {
          const r = refs[i]!;
          checkRef(r);
          out[i] = resident[r]!;
        }
        return out;
      }
      // Distinct blocks in first-use order (a bitmap instead of a Set: batches are large).
      const seen = new Uint8Array(offsets.length);
      const need: number[] = [];
      for (let i = 0; i < refs.length; i++) {
        const r = refs[i]!;
        checkRef(r);
        const b = (r / SYMBOL_FACTOR) | 0;
        if (!seen[b]) { seen[b] = 1; need.push(b); }
      }
      const blocks = await loadBlocks(need);
      const byBlock: (SymBlock | undefined)[] = new Array(offsets.length);
      for (const [b, blk] of blocks) byBlock[b] = blk;
      for (let i = 0; i < refs.length; i++) {
        const r = refs[i]!;
        out[i] = symbolAt(byBlock[(r / SYMBOL_FACTOR) | 0]!, r % SYMBOL_FACTOR);
      }
      return out;
    },
    async find(value) {
      if (resident) return binarySearch(resident, value);
      // Last block whose first symbol ≤ value.
      let lo = 0;
      let hi = firsts.length - 1;
      let b = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (compareStrings(firsts[mid]!, value) <= 0) { b = mid; lo = mid + 1; } else hi = mid - 1;
      }
      if (b < 0) return -1;
      const blk = await loadBlock(b);
      const i = binarySearch(Array.from(blk.starts, (_, k) => symbolAt(blk, k)), value);
      return i < 0 ? -1 : b * SYMBOL_FACTOR + i;
    },
    async all() {
      if (resident) return [...resident];
      const out: string[] = [];
      for (let b = 0; b < offsets.length; b += 256) {
        const ids = Array.from({ length: Math.min(256, offsets.length - b) }, (_, i) => b + i);
        const got = await loadBlocks(ids);
        for (const id of ids) {
          const blk = got.get(id)!;
          for (let k = 0; k < blk.starts.length; k++) out.push(symbolAt(blk, k));
        }
      }
      return out;
    },
  };
  return table;
}

/** A block of up to 32 symbols: its bytes, string boundaries, and strings decoded on demand. */
interface SymBlock {
  readonly bytes: Uint8Array;
  /** Absolute offset of `bytes[0]` in the source. */
  readonly abs: number;
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly strings: (string | undefined)[];
}

function binarySearch(arr: readonly string[], value: string): number {
  let lo = 0;
  let hi = arr.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareStrings(arr[mid]!, value);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
