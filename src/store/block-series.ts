/**
 * The Series path for one block: matchers → postings (cached) → series entries (cached, batched,
 * merged range reads) → chunk metas filtered to the request's time range → final labels (block
 * external labels win, replica labels stripped, shard filter) → chunk bytes. Yields batches sorted
 * by final labels, so blocks can be k-way merged.
 *
 * Order: when neither adding the external labels nor stripping replica labels can reorder the
 * block's series (their names do not occur among the block's series label names), index order is
 * already output order and the block is streamed batch by batch with bounded memory. Otherwise the
 * block's series metadata is collected and sorted first ("eager re-sort", as Thanos does).
 */
import { compareLabels, mergeLabels, withoutLabels, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { ChunkEncoding } from "../tsdb/errors.ts";
import type { ChunkMeta } from "../tsdb/series.ts";
import { applyTombstones, isFullyDeleted, type Interval } from "../tsdb/tombstones.ts";
import { encodeXorChunk } from "../tsdb/xor-encoder.ts";
import { getDefaultWasm, type MeridianWasm } from "../wasm/module.ts";
import { decodeXorChunksToSeries } from "../wasm/xor.ts";
import { checkAndHashChunkRecords, hasWasmChunkCheck } from "../wasm/crc32c.ts";
import type { ChunkRecords } from "../tsdb/chunk-reader.ts";
import { crc32cRange } from "../tsdb/crc32c.ts";
import { readBe32 } from "../tsdb/decoder.ts";
import type { BucketBlock } from "./bucket-block.ts";
import type { ChunkReadLease } from "./chunk-read-pool.ts";
import type { ChunkTable, StoreChunk, StoreSeries } from "./chunk-table.ts";
import type { RequestLimiter } from "./limiter.ts";
import { xxhash64 } from "./xxhash64.ts";

export type { StoreChunk, StoreSeries } from "./chunk-table.ts";

/** Request-level sharding (`ShardInfo`). */
export interface ShardSelector {
  readonly index: number;
  readonly total: number;
  readonly by: boolean;
  readonly labels: readonly string[];
}

/** One block's part of a Series request. */
export interface BlockSeriesQuery {
  /** Matchers left after external-label matchers were applied to the block as a whole. */
  readonly matchers: readonly Matcher[];
  /** Inclusive ms range. */
  readonly mint: number;
  readonly maxt: number;
  readonly skipChunks: boolean;
  /** `without_replica_labels`. */
  readonly without: ReadonlySet<string>;
  readonly shard?: ShardSelector;
  /** Series per batch (index reads, chunk reads, yields). */
  readonly batchSize: number;
  readonly limiter: RequestLimiter;
  readonly signal?: AbortSignal;
  /** Decoder for re-encoding partially deleted (tombstoned) chunks; default: the registered one. */
  readonly wasm?: MeridianWasm;
  /**
   * Pooled memory for chunk reads, for a caller that is done with every series (their chunk
   * bytes) when it releases the lease; without it every read allocates.
   */
  readonly reads?: ChunkReadLease;
}

interface PendingSeries {
  labels: Labels;
  ref: number;
  /** Selected chunk metas as packed `(ref, mint, maxt)` triples. */
  metas: Float64Array;
}

const enc = new TextEncoder();

/** Thanos' shard hash: xxhash64 over `name 0xff value 0xff` of the selected labels. */
export function shardHash(labels: Labels, shard: ShardSelector): bigint {
  const set = new Set(shard.labels);
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const l of labels) {
    if (set.has(l.name) !== shard.by) continue;
    for (const s of [l.name, l.value]) {
      const b = enc.encode(s);
      parts.push(b, SEP);
      n += b.length + 1;
    }
  }
  const buf = new Uint8Array(n);
  let p = 0;
  for (const part of parts) {
    buf.set(part, p);
    p += part.length;
  }
  return xxhash64(buf);
}
const SEP = new Uint8Array([0xff]);

/** Number of samples in a chunk from its header (XOR: 2-byte big-endian count). */
export function chunkSampleCount(encoding: number, data: Uint8Array): number {
  if (data.length < 2) return 0;
  // XOR and both histogram encodings start with a 2-byte big-endian sample count.
  return (data[0]! << 8) | data[1]!;
}

/** True when the block's series could come out of order after labels are rewritten. */
export function needsResort(block: BucketBlock, without: ReadonlySet<string>): boolean {
  for (const l of block.extLabels) if (block.labelNames.has(l.name)) return true;
  for (const n of without) if (block.labelNames.has(n)) return true;
  return false;
}

/** Streams the block's matching series, sorted by final labels, in batches. */
export async function* blockSeries(block: BucketBlock, q: BlockSeriesQuery): AsyncGenerator<StoreSeries[]> {
  const refs = await block.postings(q.matchers);
  if (refs.length === 0) return;
  const resort = needsResort(block, q.without);
  const rw = labelRewrite(block, q.without);
  const pending: PendingSeries[] = [];
  for (let i = 0; i < refs.length; i += q.batchSize) {
    q.signal?.throwIfAborted();
    const selected = await selectSeries(block, refs.subarray(i, i + q.batchSize), q, rw);
    if (!resort) {
      if (selected.length > 0) yield await loadChunks(block, selected, q);
    } else {
      for (const s of selected) pending.push(s);
    }
  }
  if (!resort) return;
  pending.sort((a, b) => compareLabels(a.labels, b.labels));
  for (let i = 0; i < pending.length; i += q.batchSize) {
    q.signal?.throwIfAborted();
    yield await loadChunks(block, pending.slice(i, i + q.batchSize), q);
  }
}

/**
 * The block's label rewrite, computed once per block: stripping replica labels from the merged
 * labels equals stripping them from the series' and the external labels before the merge (the
 * external label wins on equal names either way), so the external labels are stripped once, and
 * the series' own labels only when a replica label name occurs in the block at all.
 */
interface LabelRewrite {
  readonly ext: Labels;
  readonly stripSeries: boolean;
}

function labelRewrite(block: BucketBlock, without: ReadonlySet<string>): LabelRewrite {
  let stripSeries = false;
  for (const n of without) if (block.labelNames.has(n)) stripSeries = true;
  return { ext: withoutLabels(block.extLabels, without), stripSeries };
}

/** Sorted merge of a series' labels and the (disjoint-after-override) external labels; external wins. */
function finalLabels(labels: Labels, rw: LabelRewrite, without: ReadonlySet<string>): Labels {
  const own = rw.stripSeries ? withoutLabels(labels, without) : labels;
  return rw.ext.length === 0 ? own : mergeLabels(own, rw.ext);
}

/** True when a chunk overlaps the request's time range and is not entirely deleted. */
function keepChunk(mint: number, maxt: number, q: BlockSeriesQuery, deleted: readonly Interval[] | undefined): boolean {
  return maxt >= q.mint && mint <= q.maxt && !isFullyDeleted(mint, maxt, deleted);
}

/** Reads series entries, keeps those with chunks in range, builds final labels, counts limits. */
async function selectSeries(block: BucketBlock, refs: Uint32Array, q: BlockSeriesQuery, rw: LabelRewrite): Promise<PendingSeries[]> {
  const entries = await block.series(refs);
  const out: PendingSeries[] = [];
  for (const e of entries) {
    const deleted = block.deleted(e.ref);
    const m = e.chunkMetas;
    // Most series have every chunk in range: keep the entry's view then instead of copying.
    let kept = 0;
    for (let p = 0; p < m.length; p += 3) if (keepChunk(m[p + 1]!, m[p + 2]!, q, deleted)) kept++;
    if (kept === 0) continue;
    let chunks = m;
    if (kept * 3 !== m.length) {
      chunks = new Float64Array(kept * 3);
      let o = 0;
      for (let p = 0; p < m.length; p += 3) {
        if (!keepChunk(m[p + 1]!, m[p + 2]!, q, deleted)) continue;
        chunks[o++] = m[p]!;
        chunks[o++] = m[p + 1]!;
        chunks[o++] = m[p + 2]!;
      }
    }
    const labels = finalLabels(e.labels, rw, q.without);
    if (q.shard && q.shard.total > 1 && shardHash(labels, q.shard) % BigInt(q.shard.total) !== BigInt(q.shard.index)) continue;
    out.push({ labels, ref: e.ref, metas: chunks });
  }
  q.limiter.addSeries(out.length);
  return out;
}

/**
 * Fetches the chunk bytes of a batch (one merged read plan per segment), checks and hashes them,
 * and returns the batch's series over one {@link ChunkTable} (no object per chunk).
 */
async function loadChunks(block: BucketBlock, batch: PendingSeries[], q: BlockSeriesQuery): Promise<StoreSeries[]> {
  if (q.skipChunks) return batch.map((s) => ({ labels: s.labels, runs: [] }));
  let n = 0;
  for (const s of batch) n += s.metas.length / 3;
  const refs = new Float64Array(n);
  n = 0;
  for (const s of batch) for (let p = 0; p < s.metas.length; p += 3) refs[n++] = s.metas[p]!;
  let rec: ChunkRecords;
  if (q.reads) {
    const mem = q.reads.batch();
    rec = await block.chunkRecords(refs, mem.alloc);
    mem.settled();
  } else {
    rec = await block.chunkRecords(refs);
  }
  // Every record's CRC32C checked and its data hashed in one pass (tombstoned chunks are re-hashed below).
  const meta = new Uint32Array(n);
  const hashes = checkAndHash(rec, meta, q.wasm);
  const buffers = rec.buffers.slice();
  const table: ChunkTable = {
    buffers,
    buffer: rec.buffer,
    start: new Uint32Array(n),
    end: rec.crcAt,
    encoding: new Uint8Array(n),
    mint: new Float64Array(n),
    maxt: new Float64Array(n),
    hash: hashes,
  };
  // Chunk k of the reads becomes entry j of the table (j < k only after tombstones dropped chunks).
  let k = 0;
  let j = 0;
  let samples = 0;
  const out: StoreSeries[] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const s = batch[i]!;
    const deleted = block.deleted(s.ref);
    const m = s.metas;
    const from = j;
    for (let p = 0; p < m.length; p += 3, k++) {
      const e = rec.encAt[k]!;
      const encoding = meta[k]! & 0xff;
      const mint = m[p + 1]!;
      const maxt = m[p + 2]!;
      if (deleted && overlaps(mint, maxt, deleted)) {
        const bytes = rec.buffers[rec.buffer[k]!]!;
        const rewritten = rewriteDeleted(block.id, { ref: m[p]!, mint, maxt }, encoding, bytes.subarray(e + 1, rec.crcAt[k]!), deleted, q.wasm);
        if (!rewritten) continue;
        samples += chunkSampleCount(rewritten.encoding, rewritten.data);
        table.buffer[j] = buffers.push(rewritten.data) - 1;
        table.start[j] = 0;
        table.end[j] = rewritten.data.length;
        table.encoding[j] = rewritten.encoding;
        table.mint[j] = rewritten.mint;
        table.maxt[j] = rewritten.maxt;
        table.hash[2 * j] = rewritten.hashLo;
        table.hash[2 * j + 1] = rewritten.hashHi;
        j++;
        continue;
      }
      samples += meta[k]! >>> 8;
      if (j !== k) {
        table.buffer[j] = rec.buffer[k]!;
        table.end[j] = rec.crcAt[k]!;
        table.hash[2 * j] = hashes[2 * k]!;
        table.hash[2 * j + 1] = hashes[2 * k + 1]!;
      }
      table.start[j] = e + 1;
      table.encoding[j] = encoding;
      table.mint[j] = mint;
      table.maxt[j] = maxt;
      j++;
    }
    out[i] = { labels: s.labels, runs: j > from ? [{ table, from, to: j }] : [] };
  }
  q.limiter.addSamples(samples);
  return out;
}

/**
 * Checks the CRC32C of every record and returns the XXH64 of each chunk's data as (low, high)
 * halves, filling `meta[i]` with encoding | sample count << 8: one WASM call over one copy of the
 * bytes when the module has the kernel, JS otherwise.
 */
function checkAndHash(rec: ChunkRecords, meta: Uint32Array, wasm?: MeridianWasm): Uint32Array {
  const hashes = new Uint32Array(2 * rec.count);
  let w = wasm;
  if (!w) {
    try {
      w = getDefaultWasm();
    } catch {
      // no module registered (an embedder without WASM): check and hash in JS
    }
  }
  if (w && hasWasmChunkCheck(w)) {
    const bad = checkAndHashChunkRecords(w, rec, hashes, meta);
    if (bad >= 0) throw rec.corrupt(bad);
    return hashes;
  }
  for (let i = 0; i < rec.count; i++) {
    const bytes = rec.buffers[rec.buffer[i]!]!;
    const e = rec.encAt[i]!;
    const c = rec.crcAt[i]!;
    if (crc32cRange(bytes, e, c) !== readBe32(bytes, c)) throw rec.corrupt(i);
    meta[i] = bytes[e]! | ((c - e - 1 >= 2 ? (bytes[e + 1]! << 8) | bytes[e + 2]! : 0) << 8);
    const h = xxhash64(bytes.subarray(e + 1, c));
    hashes[2 * i] = Number(BigInt.asUintN(32, h));
    hashes[2 * i + 1] = Number(h >> 32n);
  }
  return hashes;
}

function overlaps(mint: number, maxt: number, intervals: readonly Interval[]): boolean {
  for (const iv of intervals) if (iv.mint <= maxt && iv.maxt >= mint) return true;
  return false;
}

/**
 * Applies tombstones to a partially deleted XOR chunk by decoding, dropping deleted samples and
 * re-encoding (raw chunks cannot be cut otherwise). Undefined when nothing is left.
 */
function rewriteDeleted(blockId: string, meta: ChunkMeta, encoding: number, data: Uint8Array, deleted: readonly Interval[], wasm?: MeridianWasm): StoreChunk | undefined {
  if (encoding !== ChunkEncoding.XOR) {
    throw new Error(`block ${blockId}: cannot apply tombstones to chunk ${meta.ref} with encoding ${encoding}`);
  }
  const decoded = decodeXorChunksToSeries(wasm ?? getDefaultWasm(), [data]);
  const kept = applyTombstones(decoded.t, decoded.v, deleted);
  if (kept.t.length === 0) return undefined;
  const out = encodeXorChunk(kept.t, kept.v);
  const h = xxhash64(out);
  return { mint: kept.t[0]!, maxt: kept.t[kept.t.length - 1]!, encoding: ChunkEncoding.XOR, data: out, hashLo: Number(BigInt.asUintN(32, h)), hashHi: Number(h >> 32n) };
}
