/**
 * The postings offset table: (label name, label value) → offset of the postings list. It is also
 * the source of label names and values. Like Thanos' index-header we keep only every 32nd value
 * of each name (plus the last one) resident, with its position, and read the entries in between
 * by range when a lookup needs them.
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { compareStrings } from "../model/labels.ts";
import { Decoder, decodeUtf8 } from "./decoder.ts";
import { ByteScratch, isValidUtf8 } from "./byte-scan.ts";
import { CorruptionError, readOrCorrupt } from "./errors.ts";
import { SectionStream } from "./section-stream.ts";
import { readRanges } from "./ranges.ts";

/** Thanos' default `--store.index-header-posting-offsets-in-mem-sampling`. */
export const DEFAULT_POSTINGS_SAMPLING = 32;

const SECTION = "postings offset table";

/** Gap up to which reads of neighbouring sampled blocks are merged into one request. */
const TABLE_READ_GAP = 64 * 1024;

/** The resident sample for one label name. Offsets of entries are relative to the first entry. */
export interface PostingsNameSample {
  readonly name: string;
  /** Number of values of this name. */
  readonly count: number;
  /** Relative offset of this name's first entry, and of the byte after its last entry. */
  readonly start: number;
  readonly end: number;
  /** Sampled values (every `sampling`-th and the last), ascending. */
  readonly values: readonly string[];
  /** Relative offsets of the sampled entries. */
  readonly entryOffsets: readonly number[];
  /** Absolute index offsets of the sampled values' postings lists. */
  readonly postingsOffsets: readonly number[];
  /** Postings offset of the entry after this name's last one (next name, or end of postings). */
  readonly nextPostingsOffset: number;
}

/** The resident part of the whole table. */
export interface PostingsTableSample {
  readonly sampling: number;
  /** Number of entries in the table. */
  readonly count: number;
  /** Bytes from the first entry to the CRC. */
  readonly entriesLength: number;
  /** Label names in order; the first is usually "" (the all-postings key). */
  readonly names: readonly PostingsNameSample[];
}

/** Where one postings list is: `[offset, offset+length)` of the index, CRC and padding included. */
export interface PostingsLocation {
  readonly name: string;
  readonly value: string;
  readonly offset: number;
  readonly length: number;
}

/** One decoded table entry. */
interface Entry {
  name: string;
  value: string;
  postings: number;
}

function parseEntry(d: Decoder): Entry {
  const at = d.pos;
  const keys = d.uvarint();
  if (keys !== 2) throw d.corrupt(`unexpected number of keys for postings offset table: ${keys}`, at);
  const name = d.string();
  const value = d.string();
  const postings = d.uvarint();
  return { name, value, postings };
}

/**
 * Scans the table at `sectionOffset` (len | #entries | entries | CRC) once, checking CRC, key
 * count, sort order and increasing postings offsets, and returns the sample. `postingsEnd` bounds
 * the last list (see `postingsEnd()` in index-toc.ts).
 */
export async function scanPostingsTable(reader: ByteRangeReader, sectionOffset: number, postingsEnd: number, sampling = DEFAULT_POSTINGS_SAMPLING): Promise<PostingsTableSample> {
  const file = reader.name;
  if (!(sampling >= 1)) throw new Error(`postings sampling must be ≥ 1, got ${sampling}`);
  const lenBytes = await readOrCorrupt(file, SECTION, sectionOffset, () => reader.read(sectionOffset, 4));
  const len = new Decoder(lenBytes, file, SECTION, sectionOffset).be32();
  if (len < 4) throw new CorruptionError(file, SECTION, sectionOffset, `section length ${len} too small`);
  const entriesStart = sectionOffset + 8;
  const end = sectionOffset + 4 + len;
  const s = new SectionStream(reader, SECTION, sectionOffset + 4, end, sectionOffset + 4);
  const count = await s.next((d) => d.be32());

  // Strings are made only for what the sample keeps (each name once, every `sampling`-th value
  // and the last); order and UTF-8 are checked on the bytes, against copies of the current name
  // and the previous value.
  const names: PostingsNameSample[] = [];
  const curName = new ByteScratch();
  const prevValue = new ByteScratch();
  let cur: { name: string; count: number; start: number; values: string[]; entryOffsets: number[]; postingsOffsets: number[] } | undefined;
  let lastAt = 0;
  let lastPostings = -1;
  const close = (endRel: number, nextPostings: number): void => {
    if (!cur) return;
    // Always keep the last value so lookups can tell "beyond the end" from "in the last block".
    if ((cur.count - 1) % sampling !== 0) {
      cur.values.push(decodeUtf8(prevValue.view()));
      cur.entryOffsets.push(lastAt);
      cur.postingsOffsets.push(lastPostings);
    }
    names.push({ name: cur.name, count: cur.count, start: cur.start, end: endRel, values: cur.values, entryOffsets: cur.entryOffsets, postingsOffsets: cur.postingsOffsets, nextPostingsOffset: nextPostings });
  };
  await s.forEach(count, (d) => {
    const at = d.pos;
    const abs = d.base + at;
    const rel = abs - entriesStart;
    const keys = d.uvarint();
    if (keys !== 2) throw d.corrupt(`unexpected number of keys for postings offset table: ${keys}`, at);
    const nameLen = d.uvarint32();
    const ns = d.pos;
    d.skip(nameLen);
    const vsAt = d.pos;
    const valueLen = d.uvarint32();
    const vs = d.pos;
    d.skip(valueLen);
    const postings = d.uvarint();
    // The whole entry is read: from here on state may change.
    const b = d.bytes;
    const ne = ns + nameLen;
    const ve = vs + valueLen;
    const sameName = cur !== undefined && curName.equals(b, ns, ne);
    if (!sameName && !isValidUtf8(b, ns, ne)) throw d.corrupt("invalid UTF-8 in string", at + 1);
    if (!isValidUtf8(b, vs, ve)) throw d.corrupt("invalid UTF-8 in string", vsAt);
    if (cur) {
      const c = sameName ? prevValue.compare(b, vs, ve) : curName.compare(b, ns, ne);
      if (c >= 0) {
        const str = (x: Uint8Array) => JSON.stringify(decodeUtf8(x));
        throw new CorruptionError(file, SECTION, abs, `entry ${str(b.subarray(ns, ne))}=${str(b.subarray(vs, ve))} not sorted after ${str(curName.view())}=${str(prevValue.view())}`);
      }
      if (postings <= lastPostings) throw new CorruptionError(file, SECTION, abs, `postings offset ${postings} not after previous ${lastPostings}`);
    }
    if (postings >= postingsEnd) throw new CorruptionError(file, SECTION, abs, `postings offset ${postings} beyond end of postings ${postingsEnd}`);
    if (!sameName) {
      close(rel, postings);
      curName.set(b, ns, ne);
      cur = { name: decodeUtf8(b.subarray(ns, ne)), count: 0, start: rel, values: [], entryOffsets: [], postingsOffsets: [] };
    }
    const c = cur!;
    if (c.count % sampling === 0) {
      c.values.push(decodeUtf8(b.subarray(vs, ve)));
      c.entryOffsets.push(rel);
      c.postingsOffsets.push(postings);
    }
    prevValue.set(b, vs, ve);
    lastAt = rel;
    lastPostings = postings;
    c.count++;
  });
  close(s.offset - entriesStart, postingsEnd);
  await s.finish();
  return { sampling, count, entriesLength: end - entriesStart, names };
}

/** Label names/values and postings locations from a sampled table. */
export interface PostingsOffsetTable {
  readonly sample: PostingsTableSample;
  /** Label names, sorted, without the all-postings name "". */
  labelNames(): string[];
  /** The name's sample, or undefined when the label does not exist in the block. */
  nameSample(name: string): PostingsNameSample | undefined;
  /** All values of `name`, sorted (reads the name's entries by range). */
  labelValues(name: string): Promise<string[]>;
  /** Locations of the lists for those of `values` that exist, in ascending value order. */
  locate(name: string, values: readonly string[]): Promise<PostingsLocation[]>;
}

/**
 * A {@link PostingsOffsetTable} whose non-resident entries are read from `source`, where the
 * first entry is at absolute offset `entriesOffset` (the index, or a cached index-header file).
 */
export function createPostingsOffsetTable(sample: PostingsTableSample, source: ByteRangeReader, entriesOffset: number): PostingsOffsetTable {
  const byName = new Map<string, PostingsNameSample>();
  for (const n of sample.names) byName.set(n.name, n);
  const names = sample.names.map((n) => n.name).filter((n) => n !== "");
  const file = source.name;

  function parseEntries(bytes: Uint8Array, abs: number): Entry[] {
    const d = new Decoder(bytes, file, SECTION, abs);
    const entries: Entry[] = [];
    while (d.remaining > 0) entries.push(parseEntry(d));
    return entries;
  }

  async function readEntries(relStart: number, relEnd: number): Promise<Entry[]> {
    const abs = entriesOffset + relStart;
    const bytes = await readOrCorrupt(file, SECTION, abs, () => source.read(abs, relEnd - relStart));
    return parseEntries(bytes, abs);
  }

  return {
    sample,
    labelNames: () => [...names],
    nameSample: (name) => byName.get(name),
    async labelValues(name) {
      const n = byName.get(name);
      if (!n) return [];
      if (n.values.length === n.count) return [...n.values];
      const entries = await readEntries(n.start, n.end);
      if (entries.length !== n.count) {
        throw new CorruptionError(file, SECTION, entriesOffset + n.start, `label ${JSON.stringify(name)} has ${entries.length} values, index-header says ${n.count}`);
      }
      return entries.map((e) => e.value);
    },
    async locate(name, values) {
      const n = byName.get(name);
      if (!n || values.length === 0) return [];
      const wanted = [...new Set(values)].sort(compareStrings);
      // Sample block for each value: the last sampled value ≤ it.
      const blocks = new Map<number, string[]>();
      const sv = n.values;
      let k = 0;
      for (const v of wanted) {
        if (compareStrings(v, sv[0]!) < 0 || compareStrings(v, sv[sv.length - 1]!) > 0) continue;
        while (k + 1 < sv.length && compareStrings(sv[k + 1]!, v) <= 0) k++;
        let list = blocks.get(k);
        if (!list) blocks.set(k, (list = []));
        list.push(v);
      }
      // Merge runs of adjacent blocks into one read each.
      const ks = [...blocks.keys()].sort((a, b) => a - b);
      const runs: [number, number][] = [];
      for (const b of ks) {
        const r = runs[runs.length - 1];
        if (r && r[1] === b - 1) r[1] = b;
        else runs.push([b, b]);
      }
      const out: PostingsLocation[] = [];
      const ranges = runs.map(([b0, b1]) => {
        const relStart = n.entryOffsets[b0]!;
        const relEnd = b1 + 1 < n.entryOffsets.length ? n.entryOffsets[b1 + 1]! : n.end;
        return { offset: entriesOffset + relStart, length: relEnd - relStart };
      });
      const views = await readRanges(source, ranges, SECTION, TABLE_READ_GAP);
      runs.forEach(([b0, b1], r) => {
        const at = ranges[r]!.offset;
        const nextAfter = b1 + 1 < n.postingsOffsets.length ? n.postingsOffsets[b1 + 1]! : n.nextPostingsOffset;
        const entries = parseEntries(views[r]!, at);
        const want = new Set<string>();
        for (let b = b0; b <= b1; b++) for (const v of blocks.get(b)!) want.add(v);
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!;
          if (e.name !== name) throw new CorruptionError(file, SECTION, at, `expected entries of label ${JSON.stringify(name)}, found ${JSON.stringify(e.name)}`);
          if (!want.has(e.value)) continue;
          const next = i + 1 < entries.length ? entries[i + 1]!.postings : nextAfter;
          if (next <= e.postings) throw new CorruptionError(file, SECTION, at, `postings offsets not increasing at ${JSON.stringify(name)}=${JSON.stringify(e.value)}`);
          out.push({ name, value: e.value, offset: e.postings, length: next - e.postings });
        }
      });
      out.sort((a, b) => a.offset - b.offset);
      return out;
    },
  };
}
