/**
 * The store gateway's index cache (Thanos `--index-cache-size`, in-memory LRU): decoded postings
 * lists and decoded series entries, bounded by bytes, shared by all blocks. Keys carry the block
 * ULID (series keys a number per block) so entries of a dropped block simply age out.
 */
import { LRUCache } from "lru-cache";
import type { Postings } from "../tsdb/postings.ts";
import type { SeriesEntryRefs } from "../tsdb/series.ts";

/** Item types, as Thanos labels its cache metrics. */
export type CacheItemType = "Postings" | "Series";

/** Hit/miss accounting hook (the store wires it to `/metrics`). */
export interface IndexCacheStats {
  onRequest(type: CacheItemType, n: number): void;
  onHit(type: CacheItemType, n: number): void;
}

/** A bytes-bounded cache of postings and series entries. */
export interface IndexCache {
  /** Cached postings for `name`=`value` of `block`, by value; misses are absent from the map. */
  getPostings(block: string, name: string, values: readonly string[]): Map<string, Postings>;
  setPostings(block: string, name: string, value: string, postings: Postings): void;
  /** Cached series entries by ref; misses are absent. */
  getSeries(block: string, refs: ArrayLike<number>): Map<number, SeriesEntryRefs>;
  setSeries(block: string, entry: SeriesEntryRefs): void;
  /**
   * Cached series entries by ref in their packed form (see {@link packSeriesEntry}); no objects
   * are built per hit. Misses are absent.
   */
  getPackedSeries(block: string, refs: ArrayLike<number>): Map<number, Float64Array>;
  /** Caches an entry already packed with {@link packSeriesEntry}. */
  setPackedSeries(block: string, packed: Float64Array): void;
  /** Bytes currently held. */
  readonly size: number;
  /** Number of items. */
  readonly items: number;
}

/**
 * Series entries are stored packed in one Float64Array — `[ref, nLabelRefs, ...labelRefs, (ref, mint,
 * maxt)*]` — instead of an object graph: fewer long-lived objects keep major GCs cheap when the
 * cache holds hundreds of thousands of entries, and each entry costs a third of the memory.
 */
type Item = Postings | Float64Array;

/**
 * Packs a series entry as `[ref, nLabelRefs, ...labelRefs, (chunkRef, mint, maxt)*]`: the form the
 * cache holds, and which the store reads chunk metas from without building an object per chunk.
 */
export function packSeriesEntry(e: SeriesEntryRefs): Float64Array {
  const n = e.labelRefs.length;
  const out = new Float64Array(2 + n + e.chunks.length * 3);
  out[0] = e.ref;
  out[1] = n;
  for (let i = 0; i < n; i++) out[2 + i] = e.labelRefs[i]!;
  let p = 2 + n;
  for (const c of e.chunks) {
    out[p++] = c.ref;
    out[p++] = c.mint;
    out[p++] = c.maxt;
  }
  return out;
}

function unpackSeries(a: Float64Array): SeriesEntryRefs {
  const n = a[1]!;
  const labelRefs = new Uint32Array(n);
  for (let i = 0; i < n; i++) labelRefs[i] = a[2 + i]!;
  const chunks: SeriesEntryRefs["chunks"] = [];
  for (let p = 2 + n; p < a.length; p += 3) chunks.push({ ref: a[p]!, mint: a[p + 1]!, maxt: a[p + 2]! });
  return { ref: a[0]!, labelRefs, chunks };
}

/**
 * Per-item overhead measured on V8 (typed-array header and backing store, LRU slot, Map entry):
 * about 300 bytes, so many small items are not under-counted against `--index-cache-size`.
 */
const ITEM_OVERHEAD = 300;

function itemSize(key: string | number, v: Item): number {
  return ITEM_OVERHEAD + (typeof key === "string" ? key.length : 8) + v.byteLength;
}

/**
 * Creates the cache. `maxBytes` 0 disables it (every lookup misses); items larger than
 * `maxItemBytes` (default half the size, as Thanos' max item size) are not cached.
 */
export function createIndexCache(maxBytes: number, stats?: IndexCacheStats, maxItemBytes = Math.floor(maxBytes / 2)): IndexCache {
  const lru = maxBytes > 0 ? new LRUCache<string | number, Item>({ maxSize: maxBytes, maxEntrySize: Math.max(1, maxItemBytes), sizeCalculation: (v, k) => itemSize(k, v) }) : undefined;
  // "\x00" cannot occur in label names; it separates key parts unambiguously.
  const pKey = (block: string, name: string, value: string) => `P:${block}:${name}\x00${value}`;
  // Series keys are numbers, block number * 2^32 + series ref (refs are 32-bit): a Series call
  // looks up every series of every block, and a fresh string key per lookup (built, flattened,
  // hashed) cost ~200 ns against ~15 ns for a number. Block numbers are never reused.
  const blockNums = new Map<string, number>();
  const seriesBase = (block: string): number => {
    let b = blockNums.get(block);
    if (b === undefined) blockNums.set(block, (b = blockNums.size + 1));
    return b * 4294967296;
  };
  const sKey = (block: string, ref: number) => seriesBase(block) + ref;
  return {
    getPostings(block, name, values) {
      const out = new Map<string, Postings>();
      stats?.onRequest("Postings", values.length);
      if (!lru) return out;
      for (const v of values) {
        const hit = lru.get(pKey(block, name, v));
        if (hit) out.set(v, hit as Postings);
      }
      stats?.onHit("Postings", out.size);
      return out;
    },
    setPostings(block, name, value, postings) {
      lru?.set(pKey(block, name, value), postings);
    },
    getSeries(block, refs) {
      const out = new Map<number, SeriesEntryRefs>();
      stats?.onRequest("Series", refs.length);
      if (!lru) return out;
      for (let i = 0; i < refs.length; i++) {
        const hit = lru.get(sKey(block, refs[i]!));
        if (hit) out.set(refs[i]!, unpackSeries(hit as Float64Array));
      }
      stats?.onHit("Series", out.size);
      return out;
    },
    setSeries(block, entry) {
      lru?.set(sKey(block, entry.ref), packSeriesEntry(entry));
    },
    getPackedSeries(block, refs) {
      const out = new Map<number, Float64Array>();
      stats?.onRequest("Series", refs.length);
      if (!lru) return out;
      const base = seriesBase(block);
      for (let i = 0; i < refs.length; i++) {
        const hit = lru.get(base + refs[i]!);
        if (hit) out.set(refs[i]!, hit as Float64Array);
      }
      stats?.onHit("Series", out.size);
      return out;
    },
    setPackedSeries(block, packed) {
      lru?.set(sKey(block, packed[0]!), packed);
    },
    get size() {
      return lru?.calculatedSize ?? 0;
    },
    get items() {
      return lru?.size ?? 0;
    },
  };
}
