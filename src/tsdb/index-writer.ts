/**
 * Writes a TSDB `index` file (format v2) laid out exactly like Prometheus 2.42's `index.Writer`:
 * symbol table, 16-byte aligned series entries, label indices, postings lists (first the
 * all-postings list under `("", "")`), label offset table, postings offset table and TOC, each with
 * its CRC32C. Prometheus, promtool, Thanos and Meridian's reader all accept the result; for the
 * same series and chunk refs the bytes equal Prometheus' own.
 *
 * Series are added in label order; everything is assembled in `finish()` because symbols (which
 * come first in the file) are only known once every series has been seen.
 */
import { compareLabels, compareStrings, type Labels } from "../model/labels.ts";
import { crc32c } from "./crc32c.ts";
import { createEncBuf } from "./encoding-writer.ts";

/** Magic number at the start of an index file. */
export const INDEX_MAGIC = 0xbaaad700;
/** The index format version Prometheus 2.1+ writes. */
export const INDEX_VERSION_V2 = 2;

/** Chunk metadata stored in a series entry. `ref` = segmentIndex * 2^32 + offset. */
export interface ChunkMetaToWrite {
  readonly mint: number;
  readonly maxt: number;
  readonly ref: number;
}

/** Builds one index file. */
export interface IndexWriter {
  /** Adds a series; series must come in strictly increasing label order (`compareLabels`). */
  addSeries(labels: Labels, chunks: readonly ChunkMetaToWrite[]): void;
  /** Number of series added. */
  readonly numSeries: number;
  /** Assembles the index bytes. Also reports the largest series entry (Thanos `index_stats.series_max_size`). */
  finish(): { bytes: Uint8Array; seriesMaxSize: number };
}

interface PendingSeries {
  labels: Labels;
  chunks: readonly ChunkMetaToWrite[];
}

function big(x: number): bigint {
  return BigInt(x);
}

/** Creates an index writer (index format v2, with 2.42's label indices and label offset table). */
export function createIndexWriter(): IndexWriter {
  const series: PendingSeries[] = [];
  let last: Labels | undefined;

  function addSeries(labels: Labels, chunks: readonly ChunkMetaToWrite[]): void {
    if (labels.length === 0) throw new Error("index writer: a series needs at least one label");
    if (last !== undefined && compareLabels(last, labels) >= 0) {
      throw new Error(`index writer: series out of order or duplicate: ${JSON.stringify(labels)} after ${JSON.stringify(last)}`);
    }
    for (let i = 1; i < labels.length; i++) {
      if (compareStrings(labels[i - 1]!.name, labels[i]!.name) >= 0) {
        throw new Error(`index writer: labels of a series must be sorted by name without duplicates: ${JSON.stringify(labels)}`);
      }
    }
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      if (c.maxt < c.mint) throw new Error(`index writer: chunk with maxt ${c.maxt} < mint ${c.mint}`);
      if (i > 0 && (c.mint <= chunks[i - 1]!.maxt || c.ref <= chunks[i - 1]!.ref)) {
        throw new Error("index writer: chunks of a series must be ordered by time and reference without overlap");
      }
    }
    last = labels;
    series.push({ labels, chunks });
  }

  function finish(): { bytes: Uint8Array; seriesMaxSize: number } {
    const out = createEncBuf(1 << 16);
    out.putBE32(INDEX_MAGIC);
    out.putByte(INDEX_VERSION_V2);

    // Symbols: every label name and value, plus "" (the all-postings key contributes it in Prometheus).
    const symbolSet = new Set<string>([""]);
    for (const s of series) for (const l of s.labels) { symbolSet.add(l.name); symbolSet.add(l.value); }
    const symbols = [...symbolSet].sort(compareStrings);
    const ordinal = new Map<string, number>();
    symbols.forEach((s, i) => ordinal.set(s, i));

    const tocSymbols = out.length;
    out.putBE32(0); // len, filled in below
    out.putBE32(symbols.length);
    for (const s of symbols) out.putUvarintStr(s);
    out.setBE32(tocSymbols, out.length - tocSymbols - 4);
    out.putBE32(crc32c(out.view(tocSymbols + 4)));

    // Series entries; collect postings (name -> value -> refs) as refs are assigned.
    const tocSeries = out.length;
    const postings = new Map<string, Map<string, number[]>>();
    const allRefs: number[] = [];
    let seriesMaxSize = 0;
    for (const s of series) {
      out.pad(16);
      const ref = out.length / 16;
      if (ref > 0xffffffff) throw new RangeError("index writer: series section exceeds 64 GiB (16 * 2^32 bytes)");
      allRefs.push(ref);
      const bodyBuf = createEncBuf(64 + s.chunks.length * 12);
      bodyBuf.putUvarint(s.labels.length);
      for (const l of s.labels) {
        bodyBuf.putUvarint(ordinal.get(l.name)!);
        bodyBuf.putUvarint(ordinal.get(l.value)!);
        let byValue = postings.get(l.name);
        if (!byValue) postings.set(l.name, (byValue = new Map()));
        let refs = byValue.get(l.value);
        if (!refs) byValue.set(l.value, (refs = []));
        refs.push(ref);
      }
      bodyBuf.putUvarint(s.chunks.length);
      if (s.chunks.length > 0) {
        const c0 = s.chunks[0]!;
        bodyBuf.putVarint(c0.mint);
        bodyBuf.putUvarint(c0.maxt - c0.mint);
        bodyBuf.putUvarint(c0.ref);
        let prevMaxt = c0.maxt;
        let prevRef = c0.ref;
        for (let i = 1; i < s.chunks.length; i++) {
          const c = s.chunks[i]!;
          bodyBuf.putUvarint(c.mint - prevMaxt);
          bodyBuf.putUvarint(c.maxt - c.mint);
          const d = c.ref - prevRef;
          if (Number.isSafeInteger(d)) bodyBuf.putVarint(d);
          else bodyBuf.putUvarintBig(BigInt.asUintN(64, (big(d) << 1n) ^ (big(d) >> 63n)));
          prevMaxt = c.maxt;
          prevRef = c.ref;
        }
      }
      const bytes = bodyBuf.view();
      const start = out.length;
      out.putUvarint(bytes.length);
      out.putBytes(bytes);
      out.putBE32(crc32c(bytes));
      seriesMaxSize = Math.max(seriesMaxSize, out.length - start);
    }

    // Postings keys in (name, value) order; "" "" first.
    const names = [...postings.keys()].sort(compareStrings);
    const keys: { name: string; value: string; refs: number[] }[] = [{ name: "", value: "", refs: allRefs }];
    for (const name of names) {
      const byValue = postings.get(name)!;
      for (const value of [...byValue.keys()].sort(compareStrings)) keys.push({ name, value, refs: byValue.get(value)! });
    }

    // Label indices (one per label name, values as symbol ordinals).
    const tocLabelIndices = out.length;
    const labelIndexOffsets: { name: string; offset: number }[] = [];
    for (const name of names) {
      out.pad(4);
      const start = out.length;
      labelIndexOffsets.push({ name, offset: start });
      const values = [...postings.get(name)!.keys()].sort(compareStrings);
      out.putBE32(0);
      out.putBE32(1);
      out.putBE32(values.length);
      for (const v of values) out.putBE32(ordinal.get(v)!);
      out.setBE32(start, out.length - start - 4);
      out.putBE32(crc32c(out.view(start + 4)));
    }

    // Postings lists.
    const tocPostings = out.length;
    out.pad(4);
    const postingOffsets: number[] = [];
    for (const k of keys) {
      postingOffsets.push(out.length);
      out.putBE32(4 + 4 * k.refs.length);
      const from = out.length;
      out.putBE32(k.refs.length);
      for (const r of k.refs) out.putBE32(r);
      out.putBE32(crc32c(out.view(from)));
    }

    // Label offset table.
    const tocLabelOffsetTable = out.length;
    out.putBE32(0);
    out.putBE32(labelIndexOffsets.length);
    for (const e of labelIndexOffsets) {
      out.putUvarint(1);
      out.putUvarintStr(e.name);
      out.putUvarint(e.offset);
    }
    out.setBE32(tocLabelOffsetTable, out.length - tocLabelOffsetTable - 4);
    out.putBE32(crc32c(out.view(tocLabelOffsetTable + 4)));

    // Postings offset table.
    const tocPostingsOffsetTable = out.length;
    out.putBE32(0);
    out.putBE32(keys.length);
    keys.forEach((k, i) => {
      out.putUvarint(2);
      out.putUvarintStr(k.name);
      out.putUvarintStr(k.value);
      out.putUvarint(postingOffsets[i]!);
    });
    out.setBE32(tocPostingsOffsetTable, out.length - tocPostingsOffsetTable - 4);
    out.putBE32(crc32c(out.view(tocPostingsOffsetTable + 4)));

    // TOC.
    const tocStart = out.length;
    for (const off of [tocSymbols, tocSeries, tocLabelIndices, tocLabelOffsetTable, tocPostings, tocPostingsOffsetTable]) {
      out.putBE64(off);
    }
    out.putBE32(crc32c(out.view(tocStart)));
    return { bytes: out.finish(), seriesMaxSize };
  }

  return {
    addSeries,
    get numSeries() {
      return series.length;
    },
    finish,
  };
}
