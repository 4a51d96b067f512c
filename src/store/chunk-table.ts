/**
 * The chunks the store gateway sends, held as a structure of arrays per loaded batch instead of an
 * object (plus a view and boxed numbers) per chunk: a 24 h Series call over 500 series moves ~24k
 * chunks through loadChunks → merge → frame writer, and per-chunk objects made garbage collection
 * the largest single cost of the store process. A series refers to its chunks as runs of a table.
 */

import type { Labels } from "../model/labels.ts";

/** Chunks of one batch: chunk k's data is `buffers[buffer[k]][start[k], end[k])`. */
export interface ChunkTable {
  readonly buffers: readonly Uint8Array[];
  readonly buffer: Uint32Array;
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  /** On-disk encoding byte (1 = XOR). */
  readonly encoding: Uint8Array;
  readonly mint: Float64Array;
  readonly maxt: Float64Array;
  /** XXH64 of the data as (low, high) unsigned 32-bit halves at `2k`. */
  readonly hash: Uint32Array;
}

/** Chunks `[from, to)` of a table. */
export interface ChunkRun {
  readonly table: ChunkTable;
  readonly from: number;
  readonly to: number;
}

/** A series as sent: final labels and its chunks as runs, in time order (empty with skip_chunks). */
export interface StoreSeries {
  readonly labels: Labels;
  readonly runs: readonly ChunkRun[];
}

/** One chunk in object form (tests, tombstone rewrites, the rare merge of overlapping blocks). */
export interface StoreChunk {
  readonly mint: number;
  readonly maxt: number;
  readonly encoding: number;
  readonly data: Uint8Array;
  readonly hashLo: number;
  readonly hashHi: number;
}

/** Builds a table from chunk objects (each chunk's data becomes a buffer of its own). */
export function chunkTableOf(chunks: readonly StoreChunk[]): ChunkTable {
  const n = chunks.length;
  const t = {
    buffers: chunks.map((c) => c.data),
    buffer: new Uint32Array(n),
    start: new Uint32Array(n),
    end: new Uint32Array(n),
    encoding: new Uint8Array(n),
    mint: new Float64Array(n),
    maxt: new Float64Array(n),
    hash: new Uint32Array(2 * n),
  };
  chunks.forEach((c, k) => {
    t.buffer[k] = k;
    t.end[k] = c.data.length;
    t.encoding[k] = c.encoding;
    t.mint[k] = c.mint;
    t.maxt[k] = c.maxt;
    t.hash[2 * k] = c.hashLo;
    t.hash[2 * k + 1] = c.hashHi;
  });
  return t;
}

/** A series over chunk objects (one run of a fresh table). */
export function storeSeriesOf(labels: StoreSeries["labels"], chunks: readonly StoreChunk[]): StoreSeries {
  return { labels, runs: chunks.length > 0 ? [{ table: chunkTableOf(chunks), from: 0, to: chunks.length }] : [] };
}

/** Chunk k of a table in object form (its data a view). */
export function chunkAt(t: ChunkTable, k: number): StoreChunk {
  return {
    mint: t.mint[k]!,
    maxt: t.maxt[k]!,
    encoding: t.encoding[k]!,
    data: t.buffers[t.buffer[k]!]!.subarray(t.start[k]!, t.end[k]!),
    hashLo: t.hash[2 * k]!,
    hashHi: t.hash[2 * k + 1]!,
  };
}

/** Every chunk of a series in object form, in order. */
export function seriesChunks(s: StoreSeries): StoreChunk[] {
  const out: StoreChunk[] = [];
  for (const r of s.runs) for (let k = r.from; k < r.to; k++) out.push(chunkAt(r.table, k));
  return out;
}

/** Number of chunks of a series. */
export function chunkCount(s: StoreSeries): number {
  let n = 0;
  for (const r of s.runs) n += r.to - r.from;
  return n;
}
