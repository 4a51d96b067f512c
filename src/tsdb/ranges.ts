/**
 * Planning of range reads: sort wanted byte ranges, merge those closer than a gap into one read,
 * and hand each caller its slice. Object stores charge per request, so the store gateway reads
 * postings, series and chunks this way (Thanos uses a 512 KiB gap).
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { readOrCorrupt } from "./errors.ts";

/** Thanos' default gap for merging nearby ranges. */
export const DEFAULT_MAX_GAP = 512 * 1024;

/** `[offset, offset+length)` of one object. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** One merged read and the indexes (into the input array) of the ranges it covers. */
export interface MergedRange extends ByteRange {
  readonly members: number[];
}

/** Merged reads stop growing at this size, so one request never buffers a whole large file. */
export const DEFAULT_MAX_MERGED = 16 * 1024 * 1024;

/**
 * Merges ranges whose gap is at most `maxGap` bytes, without letting a merged read grow beyond
 * `maxMerged` bytes (a single larger range is kept whole). Output sorted by offset.
 */
export function mergeRanges(ranges: readonly ByteRange[], maxGap = DEFAULT_MAX_GAP, maxMerged = DEFAULT_MAX_MERGED): MergedRange[] {
  const order = ranges.map((_, i) => i).sort((a, b) => ranges[a]!.offset - ranges[b]!.offset);
  const out: { offset: number; end: number; members: number[] }[] = [];
  for (const i of order) {
    const r = ranges[i]!;
    const last = out[out.length - 1];
    if (last && r.offset <= last.end + maxGap && Math.max(last.end, r.offset + r.length) - last.offset <= maxMerged) {
      last.end = Math.max(last.end, r.offset + r.length);
      last.members.push(i);
    } else {
      out.push({ offset: r.offset, end: r.offset + r.length, members: [i] });
    }
  }
  return out.map((m) => ({ offset: m.offset, length: m.end - m.offset, members: m.members }));
}

/**
 * Reads every range with as few requests as `maxGap` allows (concurrently) and returns one view
 * per input range, in input order. Reads past the end become corruption errors naming `section`.
 */
export async function readRanges(reader: ByteRangeReader, ranges: readonly ByteRange[], section: string, maxGap = DEFAULT_MAX_GAP): Promise<Uint8Array[]> {
  const out: Uint8Array[] = new Array(ranges.length);
  await Promise.all(
    mergeRanges(ranges, maxGap).map(async (m) => {
      const bytes = await readOrCorrupt(reader.name, section, m.offset, () => reader.read(m.offset, m.length));
      for (const i of m.members) {
        const r = ranges[i]!;
        out[i] = bytes.subarray(r.offset - m.offset, r.offset - m.offset + r.length);
      }
    }),
  );
  return out;
}
