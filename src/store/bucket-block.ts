/**
 * One block of the bucket as the store gateway holds it: meta.json, external labels, and an index
 * reader whose only resident part is the index-header (cached on local disk, as Thanos'
 * binary index-header). Postings and series entries go through the shared {@link IndexCache};
 * everything else is read by range from the bucket, and every byte read is accounted.
 */
import { isObjectNotFound, type Bucket } from "../objstore/bucket.ts";
import { bucketReader } from "../objstore/bucket-reader.ts";
import type { Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { openBlock, type Block } from "../tsdb/block.ts";
import type { ByteRangeReader } from "../tsdb/byte-range-reader.ts";
import type { ChunkRecords, RawChunk } from "../tsdb/chunk-reader.ts";
import { buildIndexHeader, buildSerializedIndexHeader, loadIndexHeader, reopenIndexHeader, type IndexHeader } from "../tsdb/index-header.ts";
import { blockExternalLabels, type BlockMeta } from "../tsdb/meta.ts";
import { postingsForMatchers, union, type Postings, type PostingsSource } from "../tsdb/postings.ts";
import type { Interval } from "../tsdb/tombstones.ts";
import { packSeriesEntry, type IndexCache } from "./index-cache.ts";

/**
 * A series entry as the store reads it: labels as stored, and the chunk metas packed as
 * `(ref, mint, maxt)` triples (a view into the cached entry; no object per chunk meta).
 */
export interface PackedSeriesEntry {
  readonly ref: number;
  readonly labels: Labels;
  readonly chunkMetas: Float64Array;
}

/** What bytes were fetched for: index-header build, postings/series (index) or chunks. */
export type FetchKind = "index-header" | "index" | "chunks";

/** Options for {@link loadBucketBlock}. */
export interface LoadBlockOptions {
  readonly bucket: Bucket;
  readonly meta: BlockMeta;
  readonly cache: IndexCache;
  /**
   * Local storage for index-headers (`<ULID>/index-header`), e.g. a filesystem bucket over
   * `--data-dir`. Without it the header is rebuilt on every load and its unsampled parts are
   * read from the bucket.
   */
  readonly headerCache?: Bucket;
  /** Called with every range read from the bucket. */
  readonly onFetch?: (kind: FetchKind, bytes: number) => void;
  /** Merge gap for range reads of postings, series and chunks. */
  readonly maxGap?: number;
  /** Called when a cached index-header was unusable and got rebuilt. */
  readonly onWarning?: (msg: string) => void;
}

/** A block ready for queries. */
export interface BucketBlock {
  readonly id: string;
  readonly meta: BlockMeta;
  /** `meta.thanos.labels` as a sorted label set. */
  readonly extLabels: Labels;
  /** Label names present in the block's series (from the index-header). */
  readonly labelNames: ReadonlySet<string>;
  /** Series refs matching `matchers` (Prometheus semantics), through the postings cache. */
  postings(matchers: readonly Matcher[]): Promise<Postings>;
  /** Series entries (labels as stored, chunk metas) in the order of `refs`, through the series cache. */
  series(refs: ArrayLike<number>): Promise<PackedSeriesEntry[]>;
  /** Deleted intervals of a series (tombstones), if any. */
  deleted(ref: number): readonly Interval[] | undefined;
  /** Raw chunks by ref (merged range reads per segment), in the order of `refs`. */
  chunks(refs: ArrayLike<number>): Promise<RawChunk[]>;
  /**
   * Chunk records by ref without an object per chunk; CRC32Cs left to the caller (it must check
   * each record and throw {@link ChunkRecords.corrupt} for a mismatch).
   */
  chunkRecords(refs: ArrayLike<number>, alloc?: (n: number) => Uint8Array): Promise<ChunkRecords>;
  /** Values of label `name` in the index. */
  labelValues(name: string): Promise<string[]>;
  /** Size of the index-header (symbol table and postings offset table copies, on local disk; only a sample is resident). */
  readonly indexHeaderSize: number;
}

const HEADER_FILE = "index-header";

/** Loads the index-header from the local cache, or builds it from the bucket and caches it. */
async function indexHeaderFor(opts: LoadBlockOptions, index: ByteRangeReader): Promise<IndexHeader> {
  const id = opts.meta.ulid;
  const path = `${id}/${HEADER_FILE}`;
  const local = opts.headerCache;
  if (local) {
    try {
      return await loadIndexHeader(bucketReader(local, path));
    } catch (err) {
      if (!isObjectNotFound(err)) {
        opts.onWarning?.(`block ${id}: cached index-header unusable, rebuilding: ${(err as Error).message}`);
        await local.delete(path).catch(() => undefined);
      }
    }
  }
  if (!local) return buildIndexHeader(index);
  // The sections are fetched from the bucket once, for the scan and the local copy. One buffer of
  // the header's size (symbols + postings offset table copies) for a moment; it avoids pulling in
  // the Web Streams machinery just for this write.
  const { header: built, bytes } = await buildSerializedIndexHeader(index);
  await local.upload(path, bytes);
  // Unsampled lookups read the local file from now on, not the bucket. The samples are those just
  // built (loading the file would decode every entry a second time).
  return reopenIndexHeader(built, bucketReader(local, path));
}

/** Opens a block from the bucket for serving. Errors name the block. */
export async function loadBucketBlock(opts: LoadBlockOptions): Promise<BucketBlock> {
  const { bucket, meta, cache } = opts;
  const id = meta.ulid;
  const sizes = new Map<string, number>();
  for (const f of meta.thanos?.files ?? []) if (typeof f.size_bytes === "number") sizes.set(f.rel_path, f.size_bytes);
  let building = true;
  const open = (rel: string): ByteRangeReader => {
    const kind: FetchKind = rel.startsWith("chunks/") ? "chunks" : "index";
    const size = sizes.get(rel);
    return bucketReader(bucket, `${id}/${rel}`, {
      ...(size !== undefined ? { size } : {}),
      onRead: (n) => opts.onFetch?.(kind === "index" && building ? "index-header" : kind, n),
    });
  };
  let block: Block;
  try {
    const header = await indexHeaderFor(opts, open("index"));
    building = false;
    block = await openBlock(open, { meta, indexHeader: header, name: id, ...(opts.maxGap !== undefined ? { maxGap: opts.maxGap } : {}) });
  } catch (err) {
    throw new Error(`block ${id}: ${(err as Error).message}`, { cause: err });
  }
  const index = block.index;
  const headerSrc = index.header.sources;
  const labelNames = new Set(index.header.postingsTable.labelNames().filter((n) => n !== ""));

  async function cachedPostings(name: string, values: readonly string[]): Promise<Postings> {
    if (values.length === 0) return new Uint32Array(0);
    const found = cache.getPostings(id, name, values);
    const missing = values.filter((v) => !found.has(v));
    if (missing.length > 0) {
      const locs = await index.locatePostings(name, missing);
      const lists = await index.readPostings(locs);
      locs.forEach((l, i) => {
        cache.setPostings(id, name, l.value, lists[i]!);
        found.set(l.value, lists[i]!);
      });
    }
    return union([...found.values()]);
  }

  const source: PostingsSource = {
    labelValues: (name) => index.labelValues(name),
    postings: cachedPostings,
    allPostings: () => cachedPostings("", [""]),
  };

  return {
    id,
    meta,
    extLabels: blockExternalLabels(meta),
    labelNames,
    indexHeaderSize: headerSrc.symbols.length + headerSrc.postingsTable.length,
    postings: (matchers) => postingsForMatchers(source, matchers),
    async series(refs) {
      const found = cache.getPackedSeries(id, refs);
      const missing: number[] = [];
      for (let i = 0; i < refs.length; i++) if (!found.has(refs[i]!)) missing.push(refs[i]!);
      if (missing.length > 0) {
        for (const e of await index.readSeriesRefs(missing)) {
          const packed = packSeriesEntry(e);
          cache.setPackedSeries(id, packed);
          found.set(e.ref, packed);
        }
      }
      // Label refs of all entries flat, straight from the packed entries (no object per series).
      const packed: Float64Array[] = new Array(refs.length);
      const counts = new Uint32Array(refs.length);
      let total = 0;
      for (let i = 0; i < refs.length; i++) {
        const p = found.get(refs[i]!)!;
        packed[i] = p;
        counts[i] = p[1]!;
        total += p[1]!;
      }
      const flat = new Uint32Array(total);
      let o = 0;
      for (let i = 0; i < refs.length; i++) {
        const p = packed[i]!;
        const n = counts[i]!;
        for (let j = 0; j < n; j++) flat[o++] = p[2 + j]!;
      }
      const labels = await index.resolveLabelRefs(flat, counts);
      const out: PackedSeriesEntry[] = new Array(refs.length);
      for (let i = 0; i < refs.length; i++) {
        const p = packed[i]!;
        out[i] = { ref: p[0]!, labels: labels[i]!, chunkMetas: p.subarray(2 + p[1]!) };
      }
      return out;
    },
    deleted: (ref) => block.tombstones.get(ref),
    chunks: (refs) => block.chunks.chunks(refs),
    chunkRecords: (refs, alloc) => block.chunks.records(refs, { verify: false, ...(alloc ? { alloc } : {}) }),
    labelValues: (name) => index.labelValues(name),
  };
}
