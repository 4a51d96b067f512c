/**
 * The `tombstones` file: deleted time intervals per series (written by the admin delete API).
 * Samples inside an interval are hidden at query time. A missing or 9-byte file means none.
 */
import { Decoder, verifyCrc } from "./decoder.ts";

/** Tombstones file magic. */
export const TOMBSTONES_MAGIC = 0x0130ba30;

/** A closed interval [mint, maxt] in ms. */
export interface Interval {
  readonly mint: number;
  readonly maxt: number;
}

/** Deleted intervals by series ref. */
export interface Tombstones {
  /** Number of series with tombstones. */
  readonly size: number;
  /** Intervals of `ref`, sorted and merged, or undefined when none. */
  get(ref: number): readonly Interval[] | undefined;
  /** Every (ref, intervals) pair. */
  entries(): IterableIterator<[number, readonly Interval[]]>;
}

/** Tombstones of a block without deletions. */
export const NO_TOMBSTONES: Tombstones = createTombstones(new Map());

function createTombstones(map: Map<number, Interval[]>): Tombstones {
  return { size: map.size, get: (ref) => map.get(ref), entries: () => map.entries() };
}

/**
 * Parses a tombstones file (magic | version 1 | records | CRC32C over the records) read from
 * `file`. Records are `ref <uvarint> | mint <varint> | maxt <varint>`.
 */
export function parseTombstones(bytes: Uint8Array, file: string): Tombstones {
  const d = new Decoder(bytes, file, "tombstones", 0);
  if (bytes.length < 9) throw d.corrupt(`file too small (${bytes.length} bytes, need at least 9)`, 0);
  const magic = d.be32();
  if (magic !== TOMBSTONES_MAGIC) throw d.corrupt(`invalid magic number 0x${magic.toString(16)} (want 0x${TOMBSTONES_MAGIC.toString(16)})`, 0);
  const version = d.u8();
  if (version !== 1) throw d.corrupt(`unsupported tombstones version ${version}`, 4);
  const end = bytes.length - 4;
  verifyCrc(d, 5, end, end);
  const records = new Decoder(bytes.subarray(0, end), file, "tombstones", 0);
  records.pos = 5;
  const map = new Map<number, Interval[]>();
  while (records.remaining > 0) {
    const at = records.pos;
    const ref = records.uvarint();
    const mint = records.varint();
    const maxt = records.varint();
    if (mint > maxt) throw records.corrupt(`interval [${mint}, ${maxt}] of series ${ref} is inverted`, at);
    let list = map.get(ref);
    if (!list) map.set(ref, (list = []));
    list.push({ mint, maxt });
  }
  for (const [ref, list] of map) map.set(ref, mergeIntervals(list));
  return createTombstones(map);
}

/** Sorts and merges overlapping or adjacent intervals. */
export function mergeIntervals(list: readonly Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a.mint - b.mint);
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.mint <= last.maxt + 1) {
      if (iv.maxt > last.maxt) out[out.length - 1] = { mint: last.mint, maxt: iv.maxt };
    } else out.push(iv);
  }
  return out;
}

/** True when [mint, maxt] lies entirely inside one of the (merged) intervals: the chunk can be skipped. */
export function isFullyDeleted(mint: number, maxt: number, intervals: readonly Interval[] | undefined): boolean {
  if (!intervals) return false;
  for (const iv of intervals) if (iv.mint <= mint && maxt <= iv.maxt) return true;
  return false;
}

/**
 * Drops samples inside any interval. Returns the inputs unchanged when nothing is deleted, else
 * new arrays (values copied by bits, so stale markers survive).
 */
export function applyTombstones(t: Float64Array, v: Float64Array, intervals: readonly Interval[] | undefined): { t: Float64Array; v: Float64Array } {
  if (!intervals || intervals.length === 0) return { t, v };
  const keep = new Uint8Array(t.length);
  let n = 0;
  let k = 0;
  for (let i = 0; i < t.length; i++) {
    const ts = t[i]!;
    while (k < intervals.length && intervals[k]!.maxt < ts) k++;
    const del = k < intervals.length && intervals[k]!.mint <= ts;
    if (!del) { keep[i] = 1; n++; }
  }
  if (n === t.length) return { t, v };
  const nt = new Float64Array(n);
  const nv = new Float64Array(n);
  // Copy value bits through integer views: a NaN payload (stale marker) must not be canonicalised.
  const vb = new BigUint64Array(v.buffer, v.byteOffset, v.length);
  const nb = new BigUint64Array(nv.buffer);
  for (let i = 0, j = 0; i < t.length; i++) {
    if (!keep[i]) continue;
    nt[j] = t[i]!;
    nb[j] = vb[i]!;
    j++;
  }
  return { t: nt, v: nv };
}
