/**
 * Writes a complete Prometheus TSDB block (meta.json, index, chunks/NNNNNN, tombstones) from float
 * series, as an in-memory map of relative path → bytes so the same code can write to a directory
 * (Node/Deno), upload to object storage or serve from a Worker. Compaction, downsampling, demo data
 * and tests build on it; Prometheus, promtool and Thanos read the output (system tests check this).
 *
 * Chunks follow Prometheus' head cutting (≈120 samples, never across a chunk-range boundary), and
 * each chunk is encoded with the byte-exact XOR encoder, so for the same input and chunk range the
 * chunk and index files equal what `promtool tsdb create-blocks-from` writes.
 */
import { compareLabels, formatLabels, type Labels } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";
import { chunkBoundaries, type ChunkingOptions } from "./block-writer-chunking.ts";
import { generateUlid } from "./block-writer-ulid.ts";
import { createChunkWriter } from "./chunk-writer.ts";
import { createIndexWriter, type ChunkMetaToWrite } from "./index-writer.ts";
import { serializeBlockMeta, type BlockMeta, type ThanosMeta } from "./meta.ts";
import { encodeXorChunk, XOR_ENCODING } from "./xor-encoder.ts";

/** Bytes of an empty tombstones file: magic 0x0130BA30, version 1, CRC32C of nothing. */
export const EMPTY_TOMBSTONES = new Uint8Array([0x01, 0x30, 0xba, 0x30, 0x01, 0x00, 0x00, 0x00, 0x00]);

/** Options of {@link createBlockWriter} / {@link writeBlock}. */
export interface BlockWriterOptions {
  /** Block id; generated (time = now) when absent. */
  ulid?: string;
  /** Inclusive block start (ms). Default: the first sample's timestamp (as promtool). */
  minTime?: number;
  /** Exclusive block end (ms). Default: the last sample's timestamp + 1 (as promtool). */
  maxTime?: number;
  /** Chunk cutting (default: Prometheus head algorithm, 120 samples, 4h chunk range). */
  chunking?: ChunkingOptions;
  /** Maximum chunk segment file size (default 512 MiB). */
  segmentSize?: number;
  /** Compaction section; default level 1 with the block itself as the only source. */
  compaction?: { level?: number; sources?: string[]; parents?: { ulid: string; minTime: number; maxTime: number }[] };
  /**
   * Adds a Thanos section (external labels, source, resolution). `files` and `index_stats` are
   * filled in from the written files, as Thanos' shipper and compactor record them.
   */
  thanos?: { labels: Record<string, string>; source?: string; downsample?: { resolution: number } };
}

/** A block in memory. */
export interface WrittenBlock {
  readonly ulid: string;
  readonly meta: BlockMeta;
  /** Relative path → contents: `meta.json`, `index`, `chunks/000001`..., `tombstones`. */
  readonly files: Map<string, Uint8Array>;
}

/** An already encoded chunk, written byte for byte (compaction, downsampling, re-uploads). */
export interface EncodedChunk {
  /** First and last sample timestamp (inclusive, ms). */
  readonly mint: number;
  readonly maxt: number;
  /** Chunk encoding byte (1 XOR, 2/3 histograms, 0xff Thanos aggregate). */
  readonly encoding: number;
  readonly data: Uint8Array;
  /** Samples in the chunk for meta stats; default: read from the chunk (see {@link chunkSampleCount}). */
  readonly numSamples?: number;
}

/** Incremental block writer: add series in label order, then finish. */
export interface BlockWriter {
  /** Adds one series (labels sorted by name, timestamps strictly ascending). Empty series are skipped. */
  addSeries(series: FloatSeries): void;
  /**
   * Adds one series from encoded chunks (ordered by time, not overlapping). Series without chunks
   * are skipped, like Prometheus' compactor does.
   */
  addSeriesChunks(labels: Labels, chunks: readonly EncodedChunk[]): void;
  /** Writes index and meta; the writer cannot be used afterwards. */
  finish(): WrittenBlock;
}

/** Creates a block writer. Series must be added in `compareLabels` order without duplicates. */
export function createBlockWriter(opts: BlockWriterOptions = {}): BlockWriter {
  const chunks = createChunkWriter({ segmentSize: opts.segmentSize });
  const index = createIndexWriter();
  let numSamples = 0;
  let numChunks = 0;
  let minT = Infinity;
  let maxT = -Infinity;
  let last: Labels | undefined;
  let done = false;

  function addSeries(s: FloatSeries): void {
    if (done) throw new Error("block writer: already finished");
    const { t, v } = s;
    if (t.length !== v.length) throw new Error(`block writer: ${formatLabels(s.labels)}: ${t.length} timestamps but ${v.length} values`);
    if (last !== undefined && compareLabels(last, s.labels) >= 0) {
      throw new Error(`block writer: series must be added in label order without duplicates: ${formatLabels(s.labels)} after ${formatLabels(last)}`);
    }
    if (t.length === 0) return;
    for (let i = 0; i < t.length; i++) {
      const ts = t[i]!;
      if (!Number.isSafeInteger(ts)) throw new Error(`block writer: ${formatLabels(s.labels)}: timestamp ${ts} is not an integer (ms)`);
      if (i > 0 && ts <= t[i - 1]!) {
        throw new Error(`block writer: ${formatLabels(s.labels)}: timestamps must be strictly ascending (${ts} after ${t[i - 1]})`);
      }
    }
    const first = t[0]!;
    const lastT = t[t.length - 1]!;
    if (opts.minTime !== undefined && first < opts.minTime) {
      throw new Error(`block writer: ${formatLabels(s.labels)}: sample at ${first} before block minTime ${opts.minTime}`);
    }
    if (opts.maxTime !== undefined && lastT >= opts.maxTime) {
      throw new Error(`block writer: ${formatLabels(s.labels)}: sample at ${lastT} not before block maxTime ${opts.maxTime} (exclusive)`);
    }
    const starts = chunkBoundaries(t, opts.chunking);
    const toWrite = starts.map((from, i) => {
      const to = i + 1 < starts.length ? starts[i + 1]! : t.length;
      return { encoding: XOR_ENCODING, data: encodeXorChunk(t, v, from, to), mint: t[from]!, maxt: t[to - 1]! };
    });
    const refs = chunks.writeChunks(toWrite);
    const metas: ChunkMetaToWrite[] = toWrite.map((c, i) => ({ mint: c.mint, maxt: c.maxt, ref: refs[i]! }));
    index.addSeries(s.labels, metas);
    last = s.labels;
    numSamples += t.length;
    numChunks += metas.length;
    if (first < minT) minT = first;
    if (lastT > maxT) maxT = lastT;
  }

  function addSeriesChunks(labels: Labels, list: readonly EncodedChunk[]): void {
    if (done) throw new Error("block writer: already finished");
    if (last !== undefined && compareLabels(last, labels) >= 0) {
      throw new Error(`block writer: series must be added in label order without duplicates: ${formatLabels(labels)} after ${formatLabels(last)}`);
    }
    if (list.length === 0) return;
    let samples = 0;
    list.forEach((c, i) => {
      if (!Number.isSafeInteger(c.mint) || !Number.isSafeInteger(c.maxt) || c.maxt < c.mint) {
        throw new Error(`block writer: ${formatLabels(labels)}: chunk ${i} has invalid range [${c.mint}, ${c.maxt}]`);
      }
      if (i > 0 && c.mint <= list[i - 1]!.maxt) {
        throw new Error(`block writer: ${formatLabels(labels)}: chunk ${i} overlaps or precedes chunk ${i - 1}`);
      }
      samples += c.numSamples ?? chunkSampleCount(c.encoding, c.data);
    });
    const first = list[0]!.mint;
    const lastT = list[list.length - 1]!.maxt;
    if (opts.minTime !== undefined && first < opts.minTime) {
      throw new Error(`block writer: ${formatLabels(labels)}: chunk starts at ${first}, before block minTime ${opts.minTime}`);
    }
    if (opts.maxTime !== undefined && lastT >= opts.maxTime) {
      throw new Error(`block writer: ${formatLabels(labels)}: chunk ends at ${lastT}, not before block maxTime ${opts.maxTime} (exclusive)`);
    }
    const refs = chunks.writeChunks(list);
    index.addSeries(labels, list.map((c, i) => ({ mint: c.mint, maxt: c.maxt, ref: refs[i]! })));
    last = labels;
    numSamples += samples;
    numChunks += list.length;
    if (first < minT) minT = first;
    if (lastT > maxT) maxT = lastT;
  }

  function finish(): WrittenBlock {
    if (done) throw new Error("block writer: already finished");
    done = true;
    if (index.numSeries === 0) throw new Error("block writer: no samples added, a block needs at least one sample");
    const ulid = opts.ulid ?? generateUlid();
    const files = new Map<string, Uint8Array>();
    for (const [path, bytes] of chunks.files()) files.set(path, bytes);
    const { bytes: indexBytes, seriesMaxSize } = index.finish();
    files.set("index", indexBytes);
    files.set("tombstones", EMPTY_TOMBSTONES.slice());
    const meta: BlockMeta = {
      ulid,
      minTime: opts.minTime ?? minT,
      maxTime: opts.maxTime ?? maxT + 1,
      stats: { numSamples, numSeries: index.numSeries, numChunks },
      compaction: {
        level: opts.compaction?.level ?? 1,
        sources: opts.compaction?.sources ?? [ulid],
        ...(opts.compaction?.parents ? { parents: opts.compaction.parents } : {}),
      },
      version: 1,
    };
    if (opts.thanos) {
      const fileList: NonNullable<ThanosMeta["files"]> = [];
      for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (path !== "tombstones") fileList.push({ rel_path: path, size_bytes: bytes.length });
      }
      fileList.push({ rel_path: "meta.json" });
      meta.thanos = {
        labels: { ...opts.thanos.labels },
        downsample: { resolution: opts.thanos.downsample?.resolution ?? 0 },
        source: opts.thanos.source ?? "meridian",
        files: fileList,
        index_stats: { series_max_size: seriesMaxSize, chunk_max_size: chunks.maxChunkSize },
      };
    }
    files.set("meta.json", new TextEncoder().encode(serializeBlockMeta(meta)));
    return { ulid, meta, files };
  }

  return { addSeries, addSeriesChunks, finish };
}

/**
 * Samples in an encoded chunk as Prometheus/Thanos count them for meta stats: the 2-byte header of
 * XOR and histogram chunks; for Thanos aggregate chunks (0xff) the count of the first (count)
 * aggregate, as Thanos' `AggrChunk.NumSamples` does.
 */
export function chunkSampleCount(encoding: number, data: Uint8Array): number {
  if (encoding === 0xff) {
    let len = 0;
    let pos = 0;
    for (let shift = 0; pos < data.length; shift += 7) {
      const b = data[pos++]!;
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    if (len === 0) return 0; // count aggregate absent
    return pos + 2 < data.length ? (data[pos + 1]! << 8) | data[pos + 2]! : 0; // skip its encoding byte
  }
  return data.length >= 2 ? (data[0]! << 8) | data[1]! : 0;
}

/**
 * Writes one block from `series`. An array is sorted by labels first; any other iterable must
 * already be in `compareLabels` order (so huge inputs can stream through).
 */
export function writeBlock(series: Iterable<FloatSeries>, opts: BlockWriterOptions = {}): WrittenBlock {
  const w = createBlockWriter(opts);
  const list = Array.isArray(series) ? [...(series as FloatSeries[])].sort((a, b) => compareLabels(a.labels, b.labels)) : series;
  for (const s of list) w.addSeries(s);
  return w.finish();
}
